package generator

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
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
