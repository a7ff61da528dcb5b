package review

import (
	"encoding/json"
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

// TestMaskText covers the texts masking reads: every secret is masked
// whole, however it is quoted or escaped, wherever it is on its line, and
// is reported; what is not a secret is left as it is and not reported.
func TestMaskText(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		secrets    []string // no part of them may remain
		keep       []string // must remain
	}{
		{"python escaped quote", `STRIPE_SECRET_KEY = 'abc\'123secret'`, []string{"abc", "123secret"}, []string{"STRIPE_SECRET_KEY = '***'"}},
		{"python double quotes", `STRIPE_SECRET_KEY = "abc\"123secret"`, []string{"abc", "123secret"}, []string{`STRIPE_SECRET_KEY = "***"`}},
		{"python backslash", `STRIPE_SECRET_KEY = 'ab\\c9secret'`, []string{"ab", "c9secret"}, nil},
		{"python raw string", `SECRET_KEY = r'raw\secret'`, []string{"raw", `\secret`}, nil},
		{"python triple quotes", "SECRET_KEY = '''tri'ple\nsecret'''\nDEBUG = False", []string{"tri", "ple", "secret'"}, []string{"DEBUG = False"}},
		{"python concatenation", `STRIPE_SECRET_KEY = 'cat1secret' 'cat2secret' + "cat3secret"`, []string{"cat1secret", "cat2secret", "cat3secret"}, nil},
		{"python number", `STRIPE_SECRET_KEY = 918273645`, []string{"918273645"}, nil},
		{"python list", `STRIPE_SECRET_KEY = ['lst1secret', 'lst2secret']`, []string{"lst1secret", "lst2secret"}, []string{"STRIPE_SECRET_KEY = ['***', '***']"}},
		{"python list over lines", "STRIPE_SECRET_KEYS = [\n    'ml1secret',\n    \"ml2secret\",\n]", []string{"ml1secret", "ml2secret"}, nil},
		{"python dict entry", `SOCIAL = {'name': 'x', 'recaptcha_secret_key': 'dictsecret77'}`, []string{"dictsecret77"}, []string{`'name': 'x'`}},
		{"python nested dict", `CACHES = {'default': {'OPTIONS': {'PASSWORD': 'cachesecret1'}}}`, []string{"cachesecret1"}, nil},
		{"python keyword argument", `conn = connect(host='db', password='kwsecret2')`, []string{"kwsecret2"}, []string{"host='db'"}},
		{"secret key fallbacks", `SECRET_KEY_FALLBACKS = ['fallbacksecret']`, []string{"fallbacksecret"}, nil},
		{"numbered", `AWS_SECRET_ACCESS_KEY2 = 'numbered2secret'`, []string{"numbered2secret"}, nil},
		{"json line", `{"authToken": "quo\"tesecret", "apiTokens": ["tok1secret", "tok2secret"], "backendApiUrl": "https://x.example.com/"}`,
			[]string{"quo", "tesecret", "tok1secret", "tok2secret"}, []string{`"backendApiUrl": "https://x.example.com/"`, `"apiTokens": ["***", "***"]`}},
		{"json indented", "{\n  \"apiTokens\": [\n    \"tok1secret\",\n    \"tok2secret\"\n  ],\n  \"auth\": {\"apiToken\": 12345678}\n}\n", []string{"tok1secret", "tok2secret", "12345678"}, []string{"\"apiTokens\": [\n    \"***\","}},
		{"json last-applied Secret", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"stringData":{"password":"supersecret9","conn":"connsecret8"}}`,
			[]string{"supersecret9", "connsecret8"}, []string{`"metadata":{"name":"db"}`}},
		{"json env list", `{"spec":{"containers":[{"args":["--db-password=argsecret1"],"env":[{"name":"API_TOKEN","value":"envsecret7"}]}]}}`, []string{"envsecret7", "argsecret1"}, nil},
		{"json in a json string", `{"note":"{\"password\":\"innersecret3\"}"}`, []string{"innersecret3"}, nil},
		{"json fragment", `  "apiToken": "frag\"secret",`, []string{"frag", `secret"`}, nil},
		{"export", "set -eu\nexport DB_PASSWORD=exportsecret6\nexec run", []string{"exportsecret6"}, []string{"exec run"}},
		{"export quoted", `export DB_PASSWORD='sq secret0'`, []string{"sq", "secret0"}, nil},
		{"env file short value", "SMTP_HOST=mail.example.com\nSMTP_PASSWORD=lk5\n", []string{"lk5"}, []string{"SMTP_HOST=mail.example.com", "SMTP_PASSWORD=***"}},
		{"env file spaces", "SMTP_PASSWORD=two words # note", []string{"two", "words"}, []string{"# note"}},
		{"flag argument", `--db-password=flagsecret5`, []string{"flagsecret5"}, []string{"--db-password=***"}},
		{"flag in a command line", `run --db-password=flagsecret4 --verbose`, []string{"flagsecret4"}, []string{"--verbose"}},
		{"sh -c string", `sh -c "export DB_PASSWORD=nested3secret; run"`, []string{"nested3secret"}, []string{"; run"}},
		{"yaml", "db:\n  password: yamlsecret2\n  host: db\n", []string{"yamlsecret2"}, []string{"host: db"}},
		{"ini", "[smtp]\nsmtp_password = inisecret1\n", []string{"inisecret1"}, nil},
		{"url query", `URL = 'https://api.example.com/?api_key=urlsecret9&x=1'`, []string{"urlsecret9"}, []string{"&x=1"}},
		{"escaped private key", `CERT = '-----BEGIN PRIVATE KEY-----\nMIIBpk\n-----END PRIVATE KEY-----'`, []string{"MIIBpk"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var found []credential
			got := maskString("data.x", tc.text, &found)
			if len(found) == 0 {
				t.Errorf("nothing reported in %q", tc.text)
			}
			for _, s := range tc.secrets {
				if strings.Contains(got, s) {
					t.Errorf("%q left in:\n%s", s, got)
				}
			}
			for _, s := range tc.keep {
				if !strings.Contains(got, s) {
					t.Errorf("%q missing from:\n%s", s, got)
				}
			}
			for _, c := range found {
				for _, s := range tc.secrets {
					if strings.Contains(c.Where, s) {
						t.Errorf("the report line %q repeats %q", c.Where, s)
					}
				}
			}
			if again := maskText(got); again != got {
				t.Errorf("masking is not stable:\n%s\n%s", got, again)
			}
		})
	}
	for _, text := range []string{
		"SECRET_KEY = os.environ['FLEIO_SECRET_KEY']",
		"_redis_password = os.environ.get('FLEIO_REDIS_PASSWORD', '')",
		"PASSWORD_HASHERS = ['django.contrib.auth.hashers.Argon2PasswordHasher']",
		"RECAPTCHA_SITE_KEY = 'site-key-visible'",
		"PUBLIC_KEY = 'pub-visible'",
		"STRIPE_PUBLISHABLE_KEY = 'pk_test_visible'",
		`{"recaptchaSiteKey": "site-visible", "imagePullSecrets": [{"name": "regcred"}], "tokenUrl": "https://x/"}`,
		`export DB_PASSWORD="$(cat /run/secrets/db)"`,
		`DB_PASSWORD=${DB_PASSWORD:-}`,
		"DB_PASSWORD=$FLEIO_DB_PASSWORD",
		"--token-file=/var/run/token",
		"conn = connect(host=h, passwd=read('DB_PASSWORD_FILE'))",
		"client = redis.Redis(host=h,\n    password=read('X') or None, socket_timeout=10)",
		`kubectl create secret generic x --from-literal=secretKey="$(key)"`,
		"STRIPE_SECRET_KEY = None",
		"REQUIRED_SECRET_0=fleio-keys",
		"TOKEN = '${TOKEN}'",
		"db:\n  password: !secret db_password\n  token: generic\n",
		"# don't: PASSWORD",
	} {
		var found []credential
		if got := maskString("data.x", text, &found); got != text || len(found) > 0 {
			t.Errorf("%q masked as %q (%v)", text, got, found)
		}
	}
}

// FuzzMaskText: masking never panics, and changes nothing it does not
// report.
func FuzzMaskText(f *testing.F) {
	for _, s := range []string{`STRIPE_SECRET_KEY = 'abc\'123secret'`, "export DB_PASSWORD=x; run", `{"a":{"password":"x"},"b":["--api-token=y"]}`, "PASSWORDS = [1, 'a', {'token_key': \"z\"}]", `sh -c "export X_TOKEN='a b'"`, "x = '''\nSECRET_KEY = 'q'\n'''", "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----", "--db-password=", "a_password=$(", "API_KEY: |\n  x", `"api_key":"\`, "\"AaTOKEN=00'0 \""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var found []credential
		out := maskString("p", s, &found)
		if len(found) == 0 && out != s {
			t.Errorf("changed without a report: %q -> %q", s, out)
		}
	})
}

// TestMaskCredentialFields covers objects: values under credential names
// whatever their type, a flag's value in the next argument, and fields
// that only look like credentials.
func TestMaskCredentialFields(t *testing.T) {
	content := map[string]any{
		"spec": map[string]any{
			"apiTokens":        []any{"listsecret1", []any{int64(424242)}},
			"dbPassword":       float64(9182736),
			"privateKey":       map[string]any{"algorithm": "RSA", "size": int64(2048)},
			"imagePullSecrets": []any{map[string]any{"name": "regcred"}},
			"containers": []any{map[string]any{
				"name": "web",
				"args": []any{"--api-token", "pairsecret4", "--api-token", "--verbose", "--token-file=/visible"},
				"env": []any{
					map[string]any{"name": "RECAPTCHA_SITE_KEY", "value": "site-visible"},
					map[string]any{"name": "API_TOKENS", "value": "envsecret2"},
				},
			}},
		},
	}
	found := maskCredentials(fluxbuild.ObjectID{Group: "apps", Kind: "Deployment", Name: "x"}, content)
	out, err := json.Marshal(content)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"listsecret1", "424242", "9182736", "pairsecret4", "envsecret2"} {
		if strings.Contains(string(out), s) {
			t.Errorf("%s left in %s", s, out)
		}
	}
	for _, s := range []string{`"size":2048`, "regcred", "site-visible", `"--verbose"`, "--token-file=/visible"} {
		if !strings.Contains(string(out), s) {
			t.Errorf("%s missing from %s", s, out)
		}
	}
	if len(found) != 4 {
		t.Errorf("found %v, want apiTokens, dbPassword, the --api-token argument and API_TOKENS", found)
	}
}

// TestDiffMasksSecrets is the auditor's list: settings that validate
// accepts and hand edits of the rendered tree whose secret values leaked
// through diff, unmasked and without a secret risk, in every format.
func TestDiffMasksSecrets(t *testing.T) {
	settings := func(lines string) func(r *fleetRepo) {
		return func(r *fleetRepo) {
			r.edit("specs/billing/fleio.yaml", "    SESSION_COOKIE_AGE: 28800\n", "    SESSION_COOKIE_AGE: 28800\n"+lines)
		}
	}
	backendRisks := []string{"secret prod-eu ConfigMap billing/fleio-cloud-backend-settings", "secret staging-1 ConfigMap billing/fleio-cloud-backend-settings"}
	// One risk per cluster and masked value.
	extraRisks := func(kind, name string) []string {
		return []string{"secret prod-eu " + kind + " billing/" + name, "secret staging-1 " + kind + " billing/" + name}
	}
	for _, tc := range []struct {
		name    string
		tree    bool // edit the committed tree (diff --tree)
		change  func(r *fleetRepo)
		secrets []string // no part of them may be in the report
		risks   []string // nil: none
		visible []string // must be in the report
	}{
		{name: "last-applied-configuration of a Secret", tree: true, change: func(r *fleetRepo) {
			r.addToConfig("Secret", "db-copy", "    kubectl.kubernetes.io/last-applied-configuration: |\n"+
				`      {"apiVersion":"v1","kind":"Secret","metadata":{"name":"db-copy","namespace":"billing"},"stringData":{"password":"supersecret9","dsn":"dsnsecret8"}}`+"\n", "")
		}, secrets: []string{"supersecret9", "dsnsecret8"}, risks: append(extraRisks("Secret", "db-copy"), extraRisks("Secret", "db-copy")...)},
		{name: "JSON ConfigMap data", tree: true, change: func(r *fleetRepo) {
			r.addToConfig("ConfigMap", "app-json", "", "data:\n  app.json: '{\"db\":{\"password\":\"jsonsecret7\"},\"hosts\":[\"visible-host\"]}'\n")
		}, secrets: []string{"jsonsecret7"}, risks: extraRisks("ConfigMap", "app-json"), visible: []string{"visible-host"}},
		{name: "export in a script", tree: true, change: func(r *fleetRepo) {
			r.addToConfig("ConfigMap", "run-script", "", "data:\n  run.sh: |\n    set -eu\n    export DB_PASSWORD=exportsecret6\n    exec visible-run\n")
		}, secrets: []string{"exportsecret6"}, risks: extraRisks("ConfigMap", "run-script"), visible: []string{"exec visible-run"}},
		{name: "short env value", tree: true, change: func(r *fleetRepo) {
			r.addToConfig("ConfigMap", "smtp-env", "", "data:\n  smtp.env: |\n    SMTP_HOST=visible.example.com\n    SMTP_PASSWORD=lk5\n")
		}, secrets: []string{"lk5"}, risks: extraRisks("ConfigMap", "smtp-env"), visible: []string{"SMTP_HOST=visible.example.com"}},
		{name: "container args", tree: true, change: func(r *fleetRepo) {
			r.editObject("components/fleio/billing/cloud/app/base/app.yaml", "Deployment", "fleio-cloud-backend", func(o map[string]any) {
				c := field(o, "spec", "template", "spec")["containers"].([]any)[0].(map[string]any)
				c["args"] = []any{"--db-password=flagsecret5", "--api-token", "pairsecret4", "--visible-flag"}
			})
		}, secrets: []string{"flagsecret5", "pairsecret4"}, risks: append(extraRisks("Deployment", "fleio-cloud-backend"), extraRisks("Deployment", "fleio-cloud-backend")...),
			visible: []string{"--visible-flag"}},
		{name: "settings line with an escaped double quote", tree: true, change: func(r *fleetRepo) {
			for _, env := range []string{"staging", "production"} {
				r.edit("components/fleio/billing/cloud/config/"+env+"/config.yaml", "    SESSION_COOKIE_AGE = 28800\n", "    SESSION_COOKIE_AGE = 28800\n    EMAIL_HOST_PASSWORD = \"dq\\\"esc3secret\"\n")
			}
		}, secrets: []string{"dq", "esc3secret"}, risks: backendRisks},

		// Not secrets: left as they are, no risk. Names that validate
		// accepts in settings.py and the frontend files (its rule,
		// generator.SecretSettingName) are not flagged there either.
		{name: "settings validate accepts", change: settings("    STRIPE_KEY: visible-stripe\n    STRIPE_KEYS: [visible-plural]\n    SOCIAL_AUTH_GOOGLE_OAUTH2_KEY: visible-client-id.apps.example.com\n    SOCIAL_AUTH_GITHUB_KEY: visible-gh-id\n    SOCIAL: {recaptcha_key: visible-dict, name: visible-social}\n  frontendSettings:\n    enduser: {mapsApiKey: visible-maps, authToken: visible-token}\n    staff: {apiTokens: [visible-tok1, visible-tok2]}\n"),
			visible: []string{"visible-plural", "visible-client-id.apps.example.com", "visible-gh-id", "visible-dict", "visible-maps", "visible-token", "visible-tok1"}},
		{name: "keys that are names", tree: true, change: func(r *fleetRepo) {
			r.addToConfig("ConfigMap", "keys", "", "data:\n  run.sh: |\n    export SORT_KEY=visible-sort\n  affinity.yaml: |\n    topologyKey: kubernetes.io/visible-hostname\n")
			r.editObject("components/fleio/billing/cloud/app/base/app.yaml", "Deployment", "fleio-cloud-backend", func(o map[string]any) {
				c := field(o, "spec", "template", "spec")["containers"].([]any)[0].(map[string]any)
				c["env"] = append(c["env"].([]any), map[string]any{"name": "SORT_KEY", "value": "visible-env-sort"})
			})
		}, visible: []string{"visible-sort", "kubernetes.io/visible-hostname", "visible-env-sort"}},
		{name: "public settings", change: settings("    PASSWORD_HASHERS: [visible.hashers.Argon2PasswordHasher]\n    RECAPTCHA_SITE_KEY: visible-site-key\n    STRIPE_PUBLISHABLE_KEY: visible-pk\n    PUBLIC_KEY: visible-public\n  frontendSettings:\n    enduser: {recaptchaSiteKey: visible-site-key-2}\n"),
			visible: []string{"visible.hashers.Argon2PasswordHasher", "visible-site-key", "visible-pk", "visible-public", "visible-site-key-2"}},
		{name: "references and flags without values", tree: true, change: func(r *fleetRepo) {
			r.addToConfig("ConfigMap", "refs", "", "data:\n  run.sh: |\n    export DB_PASSWORD=\"$(cat /run/secrets/visible-db)\"\n    run --token-file=/var/run/visible-token\n")
		}, visible: []string{"/run/secrets/visible-db", "--token-file=/var/run/visible-token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newFleetRepo(t, tc.tree)
			tc.change(r)
			rep := r.compare("main", "", tc.tree, Options{})
			if !rep.Changed() {
				t.Fatal("the change changes nothing")
			}
			wantRisks(t, rep, tc.risks...)
			for _, f := range Formats {
				var b strings.Builder
				if err := WriteReport(&b, rep, f, 0); err != nil {
					t.Fatal(err)
				}
				out := b.String()
				for _, s := range tc.secrets {
					if strings.Contains(out, s) {
						t.Errorf("%s report repeats %q:\n%s", f, s, out)
					}
				}
				if len(tc.secrets) > 0 && !strings.Contains(out, Masked) {
					t.Errorf("%s report masks nothing:\n%s", f, out)
				}
				for _, s := range tc.visible {
					if !strings.Contains(out, s) {
						t.Errorf("%s report lacks %q:\n%s", f, s, out)
					}
				}
			}
		})
	}
}

// addToConfig adds an object to billing/cloud's config stage in both
// environments of the rendered tree, with Flux's substitution disabled:
// annotations are more lines of metadata.annotations (indented by four
// spaces), body the rest of the object.
func (r *fleetRepo) addToConfig(kind, name, annotations, body string) {
	r.t.Helper()
	for _, env := range []string{"production", "staging"} {
		dir := "components/fleio/billing/cloud/config/" + env
		r.editObject(dir+"/kustomization.yaml", "Kustomization", "", func(o map[string]any) {
			o["resources"] = append(o["resources"].([]any), "extra.yaml")
		})
		writeFile(r.t, r.dir, dir+"/extra.yaml", "apiVersion: v1\nkind: "+kind+"\nmetadata:\n  name: "+name+"\n  namespace: billing\n"+
			"  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\n"+annotations+body)
	}
}
