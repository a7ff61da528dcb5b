package generator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBootstrapWarnings: a cluster whose gotk-sync.yaml names another
// branch than the Fleet's is reported, with the file, line and the command
// that fixes it; a matching branch, a missing file, a tag and unrelated
// documents are not.
func TestBootstrapWarnings(t *testing.T) {
	m, _ := renderDir(t, filepath.Join(repoRoot, "examples/fleet"))
	sync := func(ref string) string {
		return `---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: other
  namespace: flux-system
spec:
  ref:
    branch: elsewhere
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    ` + ref + `
  url: ssh://git@example.com/fleet.git
`
	}
	cases := []struct {
		name  string
		files map[string]string // cluster -> gotk-sync.yaml
		want  []string          // substrings of the one warning, or none
	}{
		{"none bootstrapped", nil, nil},
		{"every branch right", map[string]string{"staging-1": sync("branch: main"), "prod-eu": sync("branch: prod")}, nil},
		{"production from main", map[string]string{"staging-1": sync("branch: main"), "prod-eu": sync("branch: main")},
			[]string{"clusters/prod-eu/flux-system/gotk-sync.yaml:19: spec.ref.branch:", `bootstrapped from branch "main"`, `tracks "prod"`, "--branch=prod --path=clusters/prod-eu"}},
		{"a tag, not a branch", map[string]string{"prod-eu": sync("tag: v1")}, nil},
		{"not YAML", map[string]string{"prod-eu": "\t: ["}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for c, data := range tc.files {
				p := filepath.Join(root, "clusters", c, "flux-system", "gotk-sync.yaml")
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got := BootstrapWarnings(root, m)
			if tc.want == nil {
				if len(got) > 0 {
					t.Fatalf("unexpected warnings: %q", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d warnings, want 1: %q", len(got), got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got[0], w) {
					t.Errorf("warning %q lacks %q", got[0], w)
				}
			}
		})
	}
}
