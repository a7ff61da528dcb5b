package review

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fleiogen/fleiogen/generator/fluxbuild"
)

func TestCredentialAssignments(t *testing.T) {
	text := strings.Join([]string{
		"SECRET_KEY = os.environ['FLEIO_SECRET_KEY']", // code, not a literal
		"'PASSWORD': os.environ['FLEIO_DB_PASSWORD'],",
		"_redis_password = os.environ.get('FLEIO_REDIS_PASSWORD', '')",
		"EMAIL_HOST_PASSWORD = 'hunter2'",
		`  "apiToken": "abc.def",`,
		"DB_PASSWORD=s3cr3t-value",
		"STRIPE_SECRET_KEY = None",
		"DEFAULT_FROM_EMAIL = 'billing@example.com'",
		"TOKEN = '${TOKEN}'",
	}, "\n")
	var got []string
	for _, a := range credentialAssignments(text) {
		got = append(got, a.Name)
	}
	want := []string{"EMAIL_HOST_PASSWORD", "apiToken", "DB_PASSWORD"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	masked := maskText(text)
	for _, secret := range []string{"hunter2", "abc.def", "s3cr3t-value"} {
		if strings.Contains(masked, secret) {
			t.Errorf("maskText left %q:\n%s", secret, masked)
		}
	}
	if !strings.Contains(masked, "SECRET_KEY = os.environ['FLEIO_SECRET_KEY']") {
		t.Errorf("maskText changed code:\n%s", masked)
	}
}

func TestMaskCredentials(t *testing.T) {
	content := map[string]any{
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{
			map[string]any{"name": "web", "env": []any{
				map[string]any{"name": "API_TOKEN", "value": "tok-123456"},
				map[string]any{"name": "SECRET_NAME", "value": "fleio-keys"},
				map[string]any{"name": "DB_PASSWORD", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "db", "key": "password"}}},
			}},
		}}}},
		"data": map[string]any{"tls.key": "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n"},
	}
	found := maskCredentials(fluxbuild.ObjectID{Group: "apps", Kind: "Deployment", Name: "x"}, content)
	var where []string
	for _, c := range found {
		where = append(where, c.Where)
	}
	want := []string{"data.tls.key (private key)", "env API_TOKEN (spec.template.spec.containers[web])"}
	if diff := cmp.Diff(want, where); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	env := content["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["env"].([]any)
	if v := env[0].(map[string]any)["value"]; v != Masked {
		t.Errorf("API_TOKEN = %v, want masked", v)
	}
	if v := env[1].(map[string]any)["value"]; v != "fleio-keys" {
		t.Errorf("SECRET_NAME = %v, want it untouched", v)
	}
	if s := content["data"].(map[string]any)["tls.key"].(string); strings.Contains(s, "MIIB") {
		t.Errorf("private key not masked: %q", s)
	}
}
