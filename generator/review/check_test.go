package review

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fleiogen/fleiogen/generator"
)

func TestCheck(t *testing.T) {
	specs, err := generator.LoadDir("../../examples/fleet")
	if err != nil {
		t.Fatal(err)
	}
	m, err := generator.Validate(specs)
	if err != nil {
		t.Fatal(err)
	}
	files, err := generator.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if _, err := generator.Write(root, files); err != nil {
		t.Fatal(err)
	}
	stale, err := Check(files, root)
	if err != nil || len(stale) != 0 {
		t.Fatalf("fresh tree: %v, %v", stale, err)
	}

	// A hand edit, a deleted file, a leftover generated file, a hand-written
	// file where a generated one belongs, and files check must ignore.
	edit := filepath.Join(root, "clusters/prod-eu/platform.yaml")
	data, _ := os.ReadFile(edit)
	writeFile(t, root, "clusters/prod-eu/platform.yaml", string(data)+"# hand edit\n")
	if err := os.Remove(filepath.Join(root, "tenants/billing/sync.yaml")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, root, "components/fleio/billing/old/app/job.yaml", generator.Header+"kind: Job\n")
	writeFile(t, root, "tenants/hosting/rbac.yaml", "# mine\n")
	writeFile(t, root, "clusters/prod-eu/flux-system/gotk-sync.yaml", generator.Header)
	writeFile(t, root, "components/notes.txt", "not generated\n")
	// Hidden files are render's to delete when generated; hidden
	// directories and a killed render's temporaries are not looked at.
	writeFile(t, root, "tenants/.old.yaml", generator.Header+"kind: Namespace\n")
	writeFile(t, root, "tenants/billing/.notes", "mine\n")
	writeFile(t, root, "components/.drafts/x.yaml", generator.Header)
	writeFile(t, root, "components/fleio/.fleiogen-12-3.tmp", generator.Header)
	// A generated file replaced by a link to the same content, and a
	// directory replaced by a link to a copy: render refuses both.
	shared := t.TempDir()
	for _, p := range []string{"clusters/staging-1/runtime-info.yaml", "components/platform/issuers/prod-eu/issuers.yaml", "components/platform/issuers/prod-eu/kustomization.yaml"} {
		data, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, shared, p, string(data))
	}
	if err := os.Remove(filepath.Join(root, "clusters/staging-1/runtime-info.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(shared, "clusters/staging-1/runtime-info.yaml"), filepath.Join(root, "clusters/staging-1/runtime-info.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, "components/platform/issuers/prod-eu")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(shared, "components/platform/issuers/prod-eu"), filepath.Join(root, "components/platform/issuers/prod-eu")); err != nil {
		t.Fatal(err)
	}

	stale, err = Check(files, root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range stale {
		got = append(got, string(s.Why)+" "+s.Path)
	}
	want := []string{
		"different clusters/prod-eu/platform.yaml",
		"a symbolic link clusters/staging-1/runtime-info.yaml",
		"should not exist components/fleio/billing/old/app/job.yaml",
		"a symbolic link components/platform/issuers/prod-eu/issuers.yaml",
		"a symbolic link components/platform/issuers/prod-eu/kustomization.yaml",
		"should not exist tenants/.old.yaml",
		"missing tenants/billing/sync.yaml",
		"not generated tenants/hosting/rbac.yaml",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if d := stale[0].Diff(); !slices.Contains(strings.Split(d, "\n"), "-# hand edit") {
		t.Errorf("diff of the edited file:\n%s", d)
	}
}
