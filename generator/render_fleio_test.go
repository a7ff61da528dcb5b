package generator

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestPyTemplateFuncShortcuts: the "py" template function's shortcuts
// for strings, integers and booleans give what the JSON round trip gives.
func TestPyTemplateFuncShortcuts(t *testing.T) {
	for _, v := range []any{"", "plain", "it's", `back\slash`, "new\nline\ttab\r", "${VAR} $$", "ünï \u2028", "bad \xff utf8", "\x00\x7f",
		0, -7, 1 << 40, int32(-3), int64(9), true, false} {
		got, err := pyTemplateFunc(v)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(v)
		lit, err := pythonLiteral(raw)
		if err != nil {
			t.Fatal(err)
		}
		if want := escapeVars(lit); got != want {
			t.Errorf("py %#v = %q, through JSON %q", v, got, want)
		}
	}
}

// TestFrontendConfigKeepsNumbers: numbers in frontend settings are written
// as the user wrote them, not rounded through float64.
func TestFrontendConfigKeepsNumbers(t *testing.T) {
	out, err := frontendConfig("https://x", "enduser", map[string]json.RawMessage{"bigId": json.RawMessage(`12345678901234567`), "f": json.RawMessage(`1.50`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"bigId": 12345678901234567`, `"f": 1.50`} {
		if !strings.Contains(out, want) {
			t.Errorf("%s missing from\n%s", want, out)
		}
	}
}

// TestDatabaseChangeRerunsItsJobs: pointing a deployment at another
// database changes the pod templates of its setup-database and set-license
// Jobs. Flux recreates a Job (force) only when its template changes, and
// the new database needs its tables, admin user and license.
func TestDatabaseChangeRerunsItsJobs(t *testing.T) {
	edits := map[string]func(*FleioDbConnection){
		"hostname":     func(c *FleioDbConnection) { c.Spec.Hostname = "other-" + c.Spec.Hostname },
		"port":         func(c *FleioDbConnection) { c.Spec.Port++ },
		"databaseName": func(c *FleioDbConnection) { c.Spec.DatabaseName += "_new" },
	}
	for _, field := range sortedKeys(edits) {
		t.Run(field, func(t *testing.T) {
			m, before := renderDir(t, filepath.Join(repoRoot, "examples", "fleet"))
			d := m.Deployments[0]
			edits[field](d.DB)
			after, err := Render(m)
			if err != nil {
				t.Fatal(err)
			}
			old, cur := filesMap(before), filesMap(after)
			for _, stage := range []string{"database", "license"} {
				p := "components/fleio/" + d.Namespace + "/" + d.Name + "/" + stage + "/job.yaml"
				if old[p] == "" {
					t.Fatalf("%s not rendered", p)
				}
				var a, b batchv1.Job
				if err := yaml.Unmarshal([]byte(old[p]), &a); err != nil {
					t.Fatal(err)
				}
				if err := yaml.Unmarshal([]byte(cur[p]), &b); err != nil {
					t.Fatal(err)
				}
				if cmp.Equal(a.Spec.Template, b.Spec.Template) {
					t.Errorf("%s: changing the database's %s leaves Job %s's pod template as it was", p, field, a.Name)
				}
			}
		})
	}
}

// TestSettingsOnlyChangeWithSettings: a new release or another backup
// retention count leaves the settings ConfigMaps as they are, so neither
// moves a settings checksum (a release rolls the pods through their image,
// at the app stage, after the migrations) and the config stage has nothing
// to apply early; the backup CronJob gets the count instead.
func TestSettingsOnlyChangeWithSettings(t *testing.T) {
	configMaps := func(files []File) map[string]string {
		out := map[string]string{}
		for _, f := range files {
			if !strings.Contains(f.Path, "/config/") || !strings.HasSuffix(f.Path, "/config.yaml") {
				continue
			}
			for _, doc := range splitDocs(f.Data) {
				var cm corev1.ConfigMap
				if yaml.Unmarshal(doc, &cm) == nil && cm.Kind == "ConfigMap" {
					out[f.Path+" "+cm.Name] = string(doc)
				}
			}
		}
		return out
	}
	m, before := renderDir(t, filepath.Join(repoRoot, "examples", "fleet"))
	d := m.Deployments[0]
	if !d.Backups {
		t.Fatalf("%s/%s has no backups; the test needs them", d.Namespace, d.Name)
	}
	d.RetentionCount++
	d.Release.Month++
	after, err := Render(m)
	if err != nil {
		t.Fatal(err)
	}
	old := configMaps(before)
	if len(old) == 0 {
		t.Fatal("no settings ConfigMaps rendered")
	}
	if diff := cmp.Diff(old, configMaps(after)); diff != "" {
		t.Errorf("settings ConfigMaps changed with the release and retention count (-before +after):\n%s", diff)
	}
	if want := fmt.Sprintf("value: %q", strconv.Itoa(int(d.RetentionCount))); !strings.Contains(filesMap(after)["components/fleio/"+d.Namespace+"/"+d.Name+"/app/base/app.yaml"], want) {
		t.Errorf("the backup CronJob does not carry the new retention count (%s)", want)
	}
}

// TestBackupBeforeUpgrade: a backup before an upgrade is on by default,
// as with the operator, also when scheduled backups are off (it used to
// follow enableBackups); backupBeforeUpgrade: no turns it off.
func TestBackupBeforeUpgrade(t *testing.T) {
	for _, tc := range []struct {
		field string // added to the hosting deployment (backups off)
		want  bool
	}{
		{"", true},
		{"  backupBeforeUpgrade: yes\n", true},
		{"  backupBeforeUpgrade: no\n", false},
	} {
		dir := t.TempDir()
		for _, f := range []string{"fleet.yaml", "billing/fleio.yaml", "hosting/fleio.yaml"} {
			data, err := os.ReadFile(filepath.Join(repoRoot, "examples", "fleet", f))
			if err != nil {
				t.Fatal(err)
			}
			if f == "hosting/fleio.yaml" {
				data = []byte(strings.Replace(string(data), "  domain: panel.example.net\n", "  domain: panel.example.net\n"+tc.field, 1))
			}
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		m, files := renderDir(t, dir)
		tree := filesMap(files)
		for _, d := range m.Deployments {
			var job batchv1.Job
			if err := yaml.Unmarshal([]byte(tree["components/fleio/"+d.Namespace+"/"+d.Name+"/database/job.yaml"]), &job); err != nil {
				t.Fatal(err)
			}
			backsUp := len(job.Spec.Template.Spec.InitContainers) == 1 && job.Spec.Template.Spec.InitContainers[0].Name == "pre-upgrade-backup"
			dbbackup := strings.Contains(tree["components/fleio/"+d.Namespace+"/"+d.Name+"/config/staging/config.yaml"], "DBBACKUP_STORAGE")
			cron := strings.Contains(tree["components/fleio/"+d.Namespace+"/"+d.Name+"/app/base/app.yaml"], "kind: CronJob")
			switch d.Name {
			case "panel": // backups off
				if backsUp != tc.want || dbbackup != tc.want || cron {
					t.Errorf("%q: %s: pre-upgrade backup %v, dbbackup settings %v, backup CronJob %v; want %v, %v, false", tc.field, d.Name, backsUp, dbbackup, cron, tc.want, tc.want)
				}
			case "cloud": // backups on, no backupBeforeUpgrade
				if !backsUp || !cron {
					t.Errorf("%q: %s: pre-upgrade backup %v, backup CronJob %v; want both", tc.field, d.Name, backsUp, cron)
				}
			}
		}
	}
}

// TestClusterIssuerKind: a deployment's ClusterIssuer is ACME for a public
// host, and self-signed for localhost, a reserved name (ACME servers issue
// none for them) or an environment with issuer: selfSigned.
func TestClusterIssuerKind(t *testing.T) {
	noACME := func(fleet string) string {
		return strings.Replace(fleet, "      acme:\n        email: ops@example.com\n", "", 1)
	}
	for _, tc := range []struct {
		name, fleet, domain string
		selfSigned          bool
	}{
		{"public host", validFleet, "cloud.example.com", false},
		{"localhost", noACME(validFleet), "localhost", true},
		{".local", noACME(validFleet), "fleio.local", true},
		{".internal", noACME(validFleet), "fleio.corp.internal", true},
		{".home.arpa", noACME(validFleet), "fleio.home.arpa", true},
		{"a name that only ends like a reserved one", validFleet, "cloud.mytest", false},
		{"issuer: selfSigned", noACME(validFleet) + "      issuer: selfSigned\n", "cloud.example.com", true},
		{"issuer: acme", validFleet + "      issuer: acme\n", "cloud.example.com", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range map[string]string{"fleet.yaml": tc.fleet, "billing.yaml": edit(t, validBilling, "domain: cloud.example.com", "domain: "+tc.domain)} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, files := renderDir(t, dir)
			var iss cmv1.ClusterIssuer
			if err := yaml.UnmarshalStrict([]byte(filesMap(files)["components/platform/issuers/staging/issuers.yaml"]), &iss); err != nil {
				t.Fatal(err)
			}
			if got := iss.Spec.SelfSigned != nil; got != tc.selfSigned || (iss.Spec.ACME != nil) == tc.selfSigned {
				t.Errorf("%s on %s: selfSigned %v, acme %v; want self-signed %v", iss.Name, tc.domain, iss.Spec.SelfSigned != nil, iss.Spec.ACME != nil, tc.selfSigned)
			}
		})
	}
}
