package generator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/fluxcd/pkg/envsubst"
	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/yaml"
)

// TestPyTemplateFuncShortcuts: the "py" template function's shortcuts
// for strings, integers and booleans give what the JSON round trip gives.
func TestPyTemplateFuncShortcuts(t *testing.T) {
	for _, v := range []any{"", "plain", "it's", `back\slash`, "new\nline\ttab\r", "${VAR} $$", "ünï \u2028", "bad \xff utf8", "\x00\x7f",
		"\u0080\u0085\u009f\u00a0 \u2029\ufeff\ufffd\uffff \U0001F600\U000E0001",
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
		dir := examplesEdited(t, "hosting/fleio.yaml", func(s string) string {
			return strings.Replace(s, "  domain: panel.example.net\n", "  domain: panel.example.net\n"+tc.field, 1)
		})
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

// examplesEdited copies the example specs into a new directory, with edit
// applied to the file rel, and returns the directory.
func examplesEdited(t *testing.T, rel string, edit func(string) string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"fleet.yaml", "billing/fleio.yaml", "hosting/fleio.yaml"} {
		data, err := os.ReadFile(filepath.Join(repoRoot, "examples", "fleet", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == rel {
			data = []byte(edit(string(data)))
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
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
		// written out, acme wins over a reserved name: a private ACME
		// server (step-ca) issues for .internal names
		{"issuer: acme on .internal", validFleet + "      issuer: acme\n", "fleio.corp.internal", false},
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

// unprintableCases are settings text with characters that Flux's YAML
// round trip refuses (U+007F, C1 controls, U+FFFE, U+FFFF) or changes
// (U+0085 became a space), others that are not printable, and printable
// ones, which may stay as they are.
var unprintableCases = []struct{ name, s string }{
	{"DEL", "a\u007fb"},
	{"C1 first", "a\u0080b"},
	{"NEL", "[Fleio]\u0085 "},
	{"NEL title", "My\u0085Cloud"},
	{"C1 last", "a\u009fb"},
	{"no-break space", "a\u00a0b"},
	{"line separator", "a\u2028b"},
	{"paragraph separator", "a\u2029b"},
	{"byte order mark", "\ufeffab"},
	{"U+FFFE", "a\ufffeb"},
	{"U+FFFF", "a\uffffb"},
	{"replacement character", "a\ufffdb"},
	{"emoji", "a\U0001F600b"},
	{"language tag", "a\U000E0001b"},
	{"private use", "a\ue000b\U000F0000"},
	{"zero width space", "a\u200bb"},
	{"ASCII controls", "a\x00\x01\x1b\x1f\tb\r\n"},
	{"lines and dollars", "${HOSTNAME} $5\nx\u0085y\n\u007f$${Z}\n"},
	{"plain", "üñï €"},
}

// yamlQuoted writes s as a YAML double-quoted scalar with every character
// outside printable ASCII escaped.
func yamlQuoted(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r >= 0x20 && r < 0x7f && r != '"' && r != '\\' {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, `\U%08X`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// TestUnprintableSettingsSurviveFlux: a deployment whose settings and
// frontend settings hold characters that are not printable, in keys and
// values, goes through kustomize and kustomize-controller's strict
// substitution (each object serialised to YAML, substituted as text and
// parsed again, as github.com/fluxcd/pkg/kustomize SubstituteVariables
// does) and its settings read back exactly: settings.py evaluated by
// Python (when python3 is installed), the frontend files decoded as JSON.
func TestUnprintableSettingsSurviveFlux(t *testing.T) {
	operator, err := os.ReadFile("testdata/specs/minimal/operator.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := os.ReadFile("testdata/specs/minimal/fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Log("python3 not installed: settings.py is not evaluated")
	}
	for _, c := range unprintableCases {
		t.Run(c.name, func(t *testing.T) {
			q, key := yamlQuoted(c.s), yamlQuoted("k"+c.s)
			// The text as a setting, and as a key and a value inside one;
			// as a frontend key and value on both sides.
			spec := string(operator)
			for old, add := range map[string]string{
				"  settings:\n":  fmt.Sprintf("    FLEIOGEN_TEST: %s\n    FLEIOGEN_TEST_DICT: {%s: %s}\n", q, q, q),
				"    enduser:\n": fmt.Sprintf("      %s: %s\n", key, q),
			} {
				if !strings.Contains(spec, old) {
					t.Fatalf("the minimal spec has no %q", old)
				}
				spec = strings.Replace(spec, old, old+add, 1)
			}
			spec += fmt.Sprintf("    staff:\n      %s: %s\n", key, q)
			dir := t.TempDir()
			for name, data := range map[string][]byte{"operator.yaml": []byte(spec), "fleet.yaml": fleet} {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			m, files := renderDir(t, dir)
			cms := fluxConfigMaps(t, files, "/components/fleio/fleio/prod/config/production", varsOf(m.Clusters[0]))

			if backend, ok := cms["fleio-prod-backend-settings"]; !ok {
				t.Error("no backend-settings ConfigMap after substitution")
			} else if py != "" {
				got := pythonSettings(t, py, backend.Data["settings"], "FLEIOGEN_TEST")
				want := map[string]any{"FLEIOGEN_TEST": c.s, "FLEIOGEN_TEST_DICT": map[string]any{c.s: c.s}}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("settings.py after Flux, as Python reads it (-want +got):\n%s", diff)
				}
			}
			frontend, ok := cms["fleio-prod-frontend-settings"]
			if !ok {
				t.Fatal("no frontend-settings ConfigMap after substitution")
			}
			for _, file := range []string{"enduserConfigFile", "staffConfigFile"} {
				var got map[string]any
				if err := json.Unmarshal([]byte(frontend.Data[file]), &got); err != nil {
					t.Errorf("data.%s after Flux: %v\n%s", file, err, frontend.Data[file])
				} else if got["k"+c.s] != c.s {
					t.Errorf("data.%s after Flux: %q is %#v, want %q", file, "k"+c.s, got["k"+c.s], c.s)
				}
			}
		})
	}
}

// fluxConfigMaps builds dir of files with kustomize and returns its
// ConfigMaps as kustomize-controller applies them: strictly substituted
// with vars the way github.com/fluxcd/pkg/kustomize SubstituteVariables
// does (the resource as YAML, envsubst on the text, YAML back to JSON).
// It also checks that the ConfigMaps' data, as written to git, is
// printable text and line ends.
func fluxConfigMaps(t *testing.T, files []File, dir string, vars func(string) (string, bool)) map[string]corev1.ConfigMap {
	t.Helper()
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(memFS(t, files), dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]corev1.ConfigMap{}
	for _, res := range rm.Resources() {
		if res.GetKind() != "ConfigMap" {
			continue
		}
		var before corev1.ConfigMap
		if j, err := res.MarshalJSON(); err != nil {
			t.Fatal(err)
		} else if err := json.Unmarshal(j, &before); err != nil {
			t.Fatal(err)
		}
		for _, key := range sortedKeys(before.Data) {
			for i, r := range before.Data[key] {
				if r != '\n' && !unicode.IsPrint(r) || r == '\u0085' || r == '\u2028' || r == '\u2029' || r == '\ufeff' {
					t.Errorf("ConfigMap %s, data.%s: %U at byte %d is written as is", before.Name, key, r, i)
					break
				}
			}
		}
		y, err := res.AsYAML()
		if err != nil {
			t.Errorf("ConfigMap %s: substitution error: %v", res.GetName(), err)
			continue
		}
		subst, err := envsubst.Eval(string(y), vars)
		if err != nil {
			t.Errorf("ConfigMap %s: substitution error: %v", res.GetName(), err)
			continue
		}
		j, err := yaml.YAMLToJSON([]byte(subst))
		if err != nil {
			t.Errorf("ConfigMap %s: substitution error: %v", res.GetName(), err)
			continue
		}
		var cm corev1.ConfigMap
		if err := json.Unmarshal(j, &cm); err != nil {
			t.Fatal(err)
		}
		out[cm.Name] = cm
	}
	return out
}

// pythonSettings compiles settings.py with python3 and returns the values
// of its top-level settings whose names start with prefix, as Python
// evaluates their literals.
func pythonSettings(t *testing.T, python, settings, prefix string) map[string]any {
	t.Helper()
	file := filepath.Join(t.TempDir(), "settings.py")
	if err := os.WriteFile(file, []byte(settings), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "-c", `
import ast, json, sys
src = open(sys.argv[1], encoding="utf-8").read()
compile(src, "settings.py", "exec")
out = {}
for node in ast.parse(src).body:
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id.startswith(sys.argv[2]):
        out[node.targets[0].id] = ast.literal_eval(node.value)
print(json.dumps(out))
`, file, prefix)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 reading settings.py: %v\n%s\n%s", err, stderr.String(), settings)
	}
	var v map[string]any
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatalf("%v: %s", err, got)
	}
	return v
}

// TestBigIntegerSettings: an integer past int64, which the YAML reader
// resolves as a float, reaches settings.py and the frontend files digit
// for digit (it used to become 1.2345678901234568e+29).
func TestBigIntegerSettings(t *testing.T) {
	dir := t.TempDir()
	billing := strings.Replace(validBilling, "  databaseConnection: db\n", "  databaseConnection: db\n  settings:\n    A_BIG: 123456789012345678901234567890\n    A_NEG: -98765432109876543210\n  frontendSettings:\n    enduser: {big: 123456789012345678901234567890}\n", 1)
	for name, data := range map[string]string{"fleet.yaml": validFleet, "billing.yaml": billing} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, files := renderDir(t, dir)
	config := filesMap(files)["components/fleio/billing/cloud/config/staging/config.yaml"]
	for _, want := range []string{"A_BIG = 123456789012345678901234567890", "A_NEG = -98765432109876543210", `"big": 123456789012345678901234567890`} {
		if !strings.Contains(config, want) {
			t.Errorf("config lacks %s:\n%s", want, config)
		}
	}
}

// floatSettingCases are settings written in YAML and the Python literal
// each must become: floats stay floats (Python's repr of the same value),
// integers stay integers digit for digit, however large.
var floatSettingCases = []struct{ name, yaml, python string }{
	{"F_ONE", "1.0", "1.0"},
	{"F_HALF", "1.5", "1.5"},
	{"F_NEG_ZERO", "-0.0", "-0.0"},
	{"F_EXP", "1e3", "1000.0"},
	{"F_SMALL", "0.0001", "0.0001"},
	{"F_TINY", "0.00001", "1e-05"},
	{"F_E15", "1e15", "1000000000000000.0"},
	{"F_E16", "1e16", "1e+16"},
	{"F_AVOGADRO", "6.02e23", "6.02e+23"},
	{"F_BIG", "12345678901234567890.5", "1.2345678901234567e+19"},
	{"F_DOT", ".5", "0.5"},
	{"F_TAGGED", "!!float 3", "3.0"},
	{"F_TAGGED_BIG", "!!float 12345678901234567890", "1.2345678901234567e+19"},
	{"F_NESTED", "[1.0, {a: -2.0, b: 3}]", "[1.0, {'a': -2.0, 'b': 3}]"},
	{"I_SMALL", "3", "3"},
	{"I_NEG_ZERO", "-0", "0"},
	{"I_BIG", "12345678901234567890", "12345678901234567890"},
	{"I_NEG_BIG", "-98765432109876543210", "-98765432109876543210"},
	{"I_PADDED", "+0012345678901234567890123", "12345678901234567890123"},
	{"I_TAGGED", "!!int 123456789012345678901234567890", "123456789012345678901234567890"},
	{"S_QUOTED", `"1.0"`, "'1.0'"},
}

// TestFloatSettings: a float setting is written as a Python float (it used
// to be an int: 1.0 as 1, 12345678901234567890.5 as 12345678901234567000,
// !!float 3 as 3), and an integer as an int; checked in the text, and by
// python3 (when installed) for the type and value after Flux's
// substitution. The frontend files keep the same number text.
func TestFloatSettings(t *testing.T) {
	var settings, frontend strings.Builder
	for _, c := range floatSettingCases {
		fmt.Fprintf(&settings, "    %s: %s\n", c.name, c.yaml)
		fmt.Fprintf(&frontend, "      %s: %s\n", c.name, c.yaml)
	}
	billing := strings.Replace(validBilling, "  databaseConnection: db\n", "  databaseConnection: db\n  settings:\n"+settings.String()+"  frontendSettings:\n    enduser:\n"+frontend.String(), 1)
	dir := t.TempDir()
	for name, data := range map[string]string{"fleet.yaml": validFleet, "billing.yaml": billing} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, files := renderDir(t, dir)
	cms := fluxConfigMaps(t, files, "/components/fleio/billing/cloud/config/staging", varsOf(m.Clusters[0]))
	backend := cms["fleio-cloud-backend-settings"].Data["settings"]
	var enduser map[string]json.RawMessage
	if err := json.Unmarshal([]byte(cms["fleio-cloud-frontend-settings"].Data["enduserConfigFile"]), &enduser); err != nil {
		t.Fatalf("enduserConfigFile: %v", err)
	}
	for _, c := range floatSettingCases {
		if want := c.name + " = " + c.python + "\n"; !strings.Contains(backend, want) {
			t.Errorf("settings.py lacks %q", want)
		}
		// JSON has one number type: the frontend gets the same text as
		// Python, which is valid JSON.
		want := strings.NewReplacer("'", `"`, ", ", ",", ": ", ":").Replace(c.python)
		var compact bytes.Buffer
		if raw, ok := enduser[c.name]; !ok {
			t.Errorf("enduserConfigFile lacks %s", c.name)
		} else if err := json.Compact(&compact, raw); err != nil || compact.String() != want {
			t.Errorf("enduserConfigFile: %s is %s, want %s", c.name, raw, want)
		}
	}
	if t.Failed() {
		t.Logf("settings.py:\n%s", backend)
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: settings.py is not evaluated")
	}
	// Python's own reading: the type and repr of every F_, I_ and S_
	// setting, which for a float is the text written.
	file := filepath.Join(t.TempDir(), "settings.py")
	if err := os.WriteFile(file, []byte(backend), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", `
import ast, json, sys
src = open(sys.argv[1], encoding="utf-8").read()
compile(src, "settings.py", "exec")
out = {}
for node in ast.parse(src).body:
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id[:2] in ("F_", "I_", "S_"):
        v = ast.literal_eval(node.value)
        out[node.targets[0].id] = repr(v)
print(json.dumps(out))
`, file)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 reading settings.py: %v\n%s\n%s", err, stderr.String(), backend)
	}
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := map[string]string{}
	for _, c := range floatSettingCases {
		want[c.name] = c.python // Python's repr: 1.0 for a float, 1 for an int
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("settings as Python reads them, repr (-want +got):\n%s", diff)
	}
}

// TestNonFiniteSettings: .inf, -.inf and .nan, which neither JSON nor a
// Python literal has, are refused where they are written, in settings and
// frontend settings alike.
func TestNonFiniteSettings(t *testing.T) {
	for _, v := range []string{".inf", "-.Inf", "+.INF", ".nan", "!!float .inf", "[1.0, .nan]", "1.0e+400"} {
		t.Run(v, func(t *testing.T) {
			billing := strings.Replace(validBilling, "  databaseConnection: db\n", "  databaseConnection: db\n  settings:\n    X: "+v+"\n  frontendSettings:\n    staff:\n      x: "+v+"\n", 1)
			dir := specDir(t, map[string]string{"fleet.yaml": validFleet, "billing.yaml": billing})
			err := loadDirAndValidate(dir)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, want := range []string{"spec.settings.X", "spec.frontendSettings.staff.x"} {
				if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "finite") && !strings.Contains(err.Error(), "out of range") {
					t.Errorf("error does not name %s as not finite:\n%v", want, err)
				}
			}
		})
	}
}

// TestFloatText: floatText is Python's repr of the float (checked by
// python3 when installed), reads back as the same float, and always has a
// decimal point or an exponent, so that Python reads a float.
func TestFloatText(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0.0", math.Copysign(0, -1): "-0.0", 1: "1.0", -2.5: "-2.5", 1e-4: "0.0001", 9.99e-5: "9.99e-05",
		1e15: "1000000000000000.0", 9999999999999998: "9999999999999998.0", 1e16: "1e+16",
		12345678901234567890.5: "1.2345678901234567e+19", math.MaxFloat64: "1.7976931348623157e+308",
		math.SmallestNonzeroFloat64: "5e-324", 0.1: "0.1", 1.0 / 3: "0.3333333333333333",
	} {
		if got := floatText(f); got != want {
			t.Errorf("floatText(%v) = %s, want %s", f, got, want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	var fs []float64
	for range 2000 {
		f := math.Float64frombits(r.Uint64())
		if math.IsInf(f, 0) || math.IsNaN(f) {
			continue
		}
		if len(fs)%2 == 0 {
			f = math.Round(r.NormFloat64()*1e6) / 1e3 // everyday values
		}
		fs = append(fs, f)
		s := floatText(f)
		if back, err := strconv.ParseFloat(s, 64); err != nil || math.Float64bits(back) != math.Float64bits(f) {
			t.Errorf("floatText(%v) = %s reads back as %v", f, s, back)
		}
		if !strings.ContainsAny(s, ".e") {
			t.Errorf("floatText(%v) = %s, not a float for Python", f, s)
		}
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: not compared with repr")
	}
	var in strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&in, "%d\n", math.Float64bits(f))
	}
	cmd := exec.Command(py, "-c", `
import struct, sys
for line in sys.stdin:
    print(repr(struct.unpack("<d", struct.pack("<Q", int(line)))[0]))
`)
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range strings.Fields(string(out)) {
		if got := floatText(fs[i]); got != want {
			t.Errorf("floatText(%v) = %s, Python's repr %s", fs[i], got, want)
		}
	}
}

// TestToolsImagePullSecret: the deployment-keys Job pulls the tools image
// with the Fleet's pull secret when that image is on the registry host of
// the Fleio images (a private mirror of both), and the preflight stage then
// checks that Secret; from another registry it names no pull secret.
func TestToolsImagePullSecret(t *testing.T) {
	for _, tc := range []struct {
		registry, tools string
		want            bool
	}{
		{"hub.fleio.com", "", false}, // the defaults: docker.io/alpine/k8s
		{"registry.example.net/mirror", "registry.example.net/tools/k8s:1.35.4", true},
		{"registry.example.net:5000", "registry.example.net:5000/k8s:1.35.4", true},
		{"registry.example.net", "registry.example.net.evil.io/k8s:1.35.4", false},
		{"docker.io/acme", "alpine/k8s:1.35.4", true}, // Docker Hub, host implied
	} {
		images := "  images:\n    registry: " + tc.registry + "\n    pullSecret: mirror-pull\n"
		if tc.tools != "" {
			images += "  tools:\n    image: " + tc.tools + "\n"
		}
		dir := examplesEdited(t, "fleet.yaml", func(s string) string {
			s = strings.Replace(s, "  images:\n    registry: hub.fleio.com\n    pullSecret: fleio-registry\n", images, 1)
			if !strings.Contains(s, "mirror-pull") {
				t.Fatal("examples/fleet/fleet.yaml: images block not found")
			}
			return s
		})
		m, files := renderDir(t, dir)
		tree := filesMap(files)
		for _, d := range m.Deployments {
			var job *batchv1.Job
			for _, doc := range splitDocs([]byte(tree["components/fleio/"+d.Namespace+"/"+d.Name+"/config/staging/config.yaml"])) {
				var j batchv1.Job
				if yaml.Unmarshal(doc, &j) == nil && j.Kind == "Job" && j.Name == d.ObjectName("deployment-keys") {
					job = &j
				}
			}
			if job == nil {
				t.Fatalf("%s/%s: no deployment-keys Job", d.Namespace, d.Name)
			}
			var got []string
			for _, s := range job.Spec.Template.Spec.ImagePullSecrets {
				got = append(got, s.Name)
			}
			var want []string
			if tc.want {
				want = []string{"mirror-pull"}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("registry %s, tools image %q: %s/%s deployment-keys Job pull secrets (-want +got):\n%s", tc.registry, tc.tools, d.Namespace, d.Name, diff)
			}
			if tc.want && !strings.Contains(strings.Join(d.RequiredSecrets(), " "), "mirror-pull") {
				t.Errorf("registry %s, tools image %q: %s/%s: preflight does not require mirror-pull: %v", tc.registry, tc.tools, d.Namespace, d.Name, d.RequiredSecrets())
			}
		}
	}
}
