package generator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
