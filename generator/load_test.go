package generator

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// specDir writes files (slash paths relative to the directory) into a new
// directory and returns it.
func specDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// loadDirAndValidate is loadAndValidate for a directory on disk.
func loadDirAndValidate(dir string) error {
	specs, err := LoadDir(dir)
	if specs == nil {
		return err
	}
	_, err = Validate(specs)
	return err
}

// TestEditorFilesAreSkipped: hidden files (Emacs' lock link .#name.yaml,
// which dangles, a vim swap file) and editors' backups are not read.
func TestEditorFilesAreSkipped(t *testing.T) {
	broken := "this: [is not\n"
	dir := specDir(t, map[string]string{
		"fleet.yaml":          validFleet,
		"billing.yaml":        validBilling,
		".draft.yaml":         broken,
		"sub/.billing.yml":    broken,
		"billing.yaml~":       broken,
		"#billing.yaml#":      broken,
		".hidden/billing.yml": broken,
	})
	if err := os.Symlink("user@host.1234:1700000000", filepath.Join(dir, ".#billing.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := loadDirAndValidate(dir); err != nil {
		t.Fatalf("editor files were read:\n%v", err)
	}
	// A dangling link that is not hidden is still an error: a spec that
	// cannot be read must not vanish from the render.
	if err := os.Symlink("gone.yaml", filepath.Join(dir, "more.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := loadDirAndValidate(dir); err == nil || !strings.Contains(err.Error(), "more.yaml: cannot read") {
		t.Errorf("a dangling spec link: got %v", err)
	}
}

// TestUpperCaseExtensionsAreListed: a file ending in .YAML, .Yml or .JSON
// is not read (as with kubectl), and is listed in NotRead so that the CLI
// warns about it, rather than the specs it holds silently leaving the
// render; with no other spec file, the error names it.
func TestUpperCaseExtensionsAreListed(t *testing.T) {
	broken := "this: [is not\n"
	dir := specDir(t, map[string]string{
		"fleet.yaml":       validFleet,
		"billing.yaml":     validBilling,
		"hosting.YAML":     broken,
		"sub/more.Yml":     broken,
		"export.JSON":      broken,
		"notes.txt":        broken,
		".hidden.YAML":     broken,
		"billing.YAML~":    broken,
		"sub/readme.yaml5": broken,
	})
	specs, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	want := []string{filepath.Join(dir, "export.JSON"), filepath.Join(dir, "hosting.YAML"), filepath.Join(dir, "sub/more.Yml")}
	if diff := cmp.Diff(want, specs.NotRead); diff != "" {
		t.Errorf("NotRead (-want +got):\n%s", diff)
	}

	only := specDir(t, map[string]string{"fleet.YAML": validFleet})
	if _, err := LoadDir(only); err == nil || !strings.Contains(err.Error(), "fleet.YAML is not read") {
		t.Errorf("only an upper-case spec file: got %v", err)
	}
}

// TestDirectoryLinksAreErrors: a symbolic link to a directory is not
// followed, and is an error rather than silently skipped (its deployments
// would be uninstalled by the next render); a link to a file is read.
func TestDirectoryLinksAreErrors(t *testing.T) {
	elsewhere := specDir(t, map[string]string{"billing.yaml": validBilling, "one.yaml": validFleet})
	dir := specDir(t, nil)
	if err := os.Symlink(filepath.Join(elsewhere, "one.yaml"), filepath.Join(dir, "fleet.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(elsewhere, "billing.yaml"), filepath.Join(dir, "billing.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := loadDirAndValidate(dir); err != nil {
		t.Fatalf("linked spec files refused:\n%v", err)
	}

	more := specDir(t, map[string]string{"more.yaml": validBilling})
	if err := os.Symlink(more, filepath.Join(dir, "teams")); err != nil {
		t.Fatal(err)
	}
	specs, err := LoadDir(dir)
	want := dir + "/teams: a symbolic link to a directory; fleiogen does not follow directory links"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v\nwant %s...", err, want)
	}
	if specs == nil || !specs.whole {
		t.Error("a directory link must stop the checks across objects (specs may be missing)")
	}
	// Hidden links are skipped like hidden directories.
	if err := os.Remove(filepath.Join(dir, "teams")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(more, filepath.Join(dir, ".teams")); err != nil {
		t.Fatal(err)
	}
	if err := loadDirAndValidate(dir); err != nil {
		t.Fatalf("a hidden directory link was read:\n%v", err)
	}
}

// TestNonSpecYAML: documents that are not mappings (an Ansible playbook,
// a scalar) are skipped like documents without apiVersion and kind; a list
// of fleiogen's objects is an error; a file that is not YAML (a Helm
// template) is an error at its line, which says how to leave it out.
func TestNonSpecYAML(t *testing.T) {
	files := map[string]string{
		"fleet.yaml":   validFleet,
		"billing.yaml": validBilling,
		"playbook.yml": "- hosts: all\n  tasks: []\n",
		"notes.yaml":   "just some text\n",
		"mixed.yaml":   "---\n- 1\n- 2\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
	}
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	specs, err := Load(fsys, "repo")
	if err != nil {
		t.Fatalf("documents that are not mappings refused:\n%v", err)
	}
	if _, err := Validate(specs); err != nil {
		t.Fatalf("documents that are not mappings refused:\n%v", err)
	}
	want := []string{
		"repo/mixed.yaml:2: (a list, not a mapping)",
		"repo/mixed.yaml:5: v1 ConfigMap",
		"repo/notes.yaml:1: (a scalar, not a mapping)",
		"repo/playbook.yml:1: (a list, not a mapping)",
	}
	if diff := cmp.Diff(want, specs.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}

	// A list of fleiogen's objects would be dropped if skipped.
	list := "- " + strings.ReplaceAll(strings.TrimSuffix(validFleet, "\n"), "\n", "\n  ") + "\n"
	err = loadAndValidate(map[string]string{"fleet.yaml": list, "billing.yaml": validBilling})
	if err == nil || !strings.Contains(err.Error(), "specs/fleet.yaml:1: a list of fleiogen's objects: write each object as its own document") {
		t.Errorf("a list holding a Fleet: got %v", err)
	}

	// Nor may fleiogen's objects inside another document (a v1 List, as
	// kubectl get -o yaml prints), or a spec whose apiVersion and kind come
	// through a merge key or an alias: each used to be skipped with a note,
	// and the next render uninstalled the deployment.
	asItem := "  - " + strings.ReplaceAll(strings.TrimSuffix(validFleet, "\n"), "\n", "\n    ") + "\n"
	merged := "x-meta: &tm {apiVersion: fleiogen.io/v1alpha1, kind: Fleet}\n<<: *tm\n" + strings.Replace(validFleet, "apiVersion: fleiogen.io/v1alpha1\nkind: Fleet\n", "", 1)
	aliased := strings.Replace(validBilling, "apiVersion: k8s.fleio.com/v1\nkind: FleioDbConnection\n", "apiVersion: &v k8s.fleio.com/v1\nkind: FleioDbConnection\n", 1)
	aliased = strings.Replace(aliased, "---\napiVersion: k8s.fleio.com/v1\nkind: FleioRedisConnection\n", "---\napiVersion: *v\nkind: FleioRedisConnection\n", 1)
	for _, tc := range []struct{ name, fleet, billing, want string }{
		{"a v1 List", "apiVersion: v1\nkind: List\nitems:\n" + asItem, validBilling,
			"specs/fleet.yaml:4: one of fleiogen's objects inside a v1 List (as kubectl get -o yaml prints) (line 1): fleiogen reads only objects that are documents of their own; write each object as its own document, separated by ---"},
		{"another wrapper", "fleio:\n  objects:\n" + asItem, validBilling,
			"specs/fleet.yaml:3: one of fleiogen's objects inside this document (line 1)"},
		{"apiVersion and kind through a merge key", merged, validBilling, "specs/fleet.yaml:1: YAML merge keys (<<) are not supported"},
	} {
		err := loadAndValidate(map[string]string{"fleet.yaml": tc.fleet, "billing.yaml": tc.billing})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "unsupported apiVersion") {
			t.Errorf("%s: got %v\nwant %s", tc.name, err, tc.want)
		}
	}
	// An alias is expanded: the connection whose apiVersion is one loads.
	if err := loadAndValidate(map[string]string{"fleet.yaml": validFleet, "billing.yaml": aliased}); err != nil {
		t.Errorf("an alias as apiVersion: %v", err)
	}

	// A character YAML forbids is named at its line (the YAML reader gives
	// none: it used to be reported at line 1).
	err = loadAndValidate(map[string]string{"fleet.yaml": validFleet, "billing.yaml": strings.Replace(validBilling, "databaseName: fleio", "databaseName: fle\aio", 1)})
	if err == nil || !strings.Contains(err.Error(), "specs/billing.yaml:10: invalid YAML: the character U+0007, which YAML does not allow") {
		t.Errorf("a BEL character: got %v", err)
	}

	// A Helm template is not YAML: an error, at its line, with the way out.
	helm := "metadata:\n  labels:\n    {{- include \"x\" . | nindent 4 }}\n"
	err = loadAndValidate(map[string]string{"fleet.yaml": validFleet, "billing.yaml": validBilling, "charts/x/templates/dep.yaml": helm})
	want1 := `specs/charts/x/templates/dep.yaml:2: invalid YAML: did not find expected node content; if this file is not a spec (a Helm template, say), keep it out of the specs: name the directory that holds only the specs as DIR, or start the name of the file, or of a directory above it, with "."`
	if err == nil || err.Error() != want1 {
		t.Errorf("a Helm template:\ngot  %v\nwant %s", err, want1)
	}
}

// TestJSONSpecs: *.json files are read as kubectl apply -f DIR reads them,
// JSON being YAML, including the escapes YAML spells otherwise ("\/", and
// a UTF-16 surrogate pair as Python's json.dumps writes a character
// outside the BMP); problems name their JSON lines; a v1 List, as kubectl
// get -o json prints it, is refused like its YAML form.
func TestJSONSpecs(t *testing.T) {
	fleet := `{
	"apiVersion": "fleiogen.io\/v1alpha1",
	"kind": "Fleet",
	"metadata": {"name": "f", "annotations": {"note": "caf\u00e9 \ud83d\ude00, lone \udc00"}},
	"spec": {
		"repository": {"url": "https://git.example.com/fleet.git"},
		"clusters": [{"name": "staging", "environment": "staging", "branch": "main",
			"domain": "staging.example.com", "tenants": ["billing"]}],
		"environments": [{"name": "staging", "acme": {"email": "ops@example.com"}}]
	}
}
`
	specs, err := Load(fstest.MapFS{
		"fleet.json":   {Data: []byte(fleet)},
		"billing.yaml": {Data: []byte(validBilling)},
	}, "specs")
	if err != nil {
		t.Fatalf("a JSON Fleet refused:\n%v", err)
	}
	if _, err := Validate(specs); err != nil {
		t.Fatalf("a JSON Fleet refused:\n%v", err)
	}
	if got, want := specs.Fleet.Metadata.Annotations["note"], "café 😀, lone \uFFFD"; got != want {
		t.Errorf("escapes read as %q, want %q", got, want)
	}
	if specs.FleetSource.File != "specs/fleet.json" || specs.FleetSource.Line != 1 {
		t.Errorf("source %s:%d", specs.FleetSource.File, specs.FleetSource.Line)
	}

	bad := strings.Replace(fleet, `"branch": "main"`, `"branch": "main", "colour": "blue"`, 1)
	err = loadAndValidate(map[string]string{"fleet.json": bad, "billing.yaml": validBilling})
	if err == nil || !strings.Contains(err.Error(), "specs/fleet.json:7: spec.clusters[0].colour: unknown field") {
		t.Errorf("an unknown field in JSON: got %v", err)
	}

	list := `{"apiVersion": "v1", "kind": "List", "items": [` + strings.TrimSpace(fleet) + `]}`
	err = loadAndValidate(map[string]string{"fleet.json": list, "billing.yaml": validBilling})
	if err == nil || !strings.Contains(err.Error(), "inside a v1 List (as kubectl get -o yaml prints)") {
		t.Errorf("a v1 List in JSON: got %v", err)
	}

	// A stream of JSON objects is refused, not read as its first.
	stream := `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}` + "\n" + strings.TrimSpace(fleet) + "\n"
	err = loadAndValidate(map[string]string{"fleet.json": stream, "billing.yaml": validBilling})
	if err == nil || !strings.Contains(err.Error(), "specs/fleet.json:2: 2 JSON values one after another") {
		t.Errorf("a JSON stream: got %v", err)
	}

	// JSON that is not a spec is skipped like YAML that is not one.
	specs, err = Load(fstest.MapFS{
		"fleet.yaml":    {Data: []byte(validFleet)},
		"billing.yaml":  {Data: []byte(validBilling)},
		"renovate.json": {Data: []byte(`{"extends": ["config:recommended"]}`)},
	}, "specs")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"specs/renovate.json:1: (no apiVersion and kind)"}; !slices.Equal(specs.Skipped, want) {
		t.Errorf("skipped %q, want %q", specs.Skipped, want)
	}
}
