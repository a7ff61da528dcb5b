package generator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// readmeYAML is the ```yaml block of README.md that holds marker.
func readmeYAML(t *testing.T, marker string) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	i := strings.Index(text, marker)
	if i < 0 {
		t.Fatalf("README.md holds no %q", marker)
	}
	start := strings.LastIndex(text[:i], "```yaml\n")
	end := strings.Index(text[i:], "```")
	if start < 0 || end < 0 || strings.Contains(text[start+len("```yaml\n"):i], "```") {
		t.Fatalf("README.md's %q is not in a ```yaml block", marker)
	}
	return text[start+len("```yaml\n") : i+end]
}

// TestReadmeFleetExampleValidates: the Fleet that README.md shows, with
// every field, is valid next to the example's FleioDeployments, so a user
// who starts from it starts from specs fleiogen accepts.
func TestReadmeFleetExampleValidates(t *testing.T) {
	fsys := fstest.MapFS{"fleet.yaml": {Data: []byte(readmeYAML(t, "kind: Fleet\n"))}}
	for _, f := range []string{"billing/fleio.yaml", "hosting/fleio.yaml"} {
		data, err := os.ReadFile(filepath.Join(repoRoot, "examples", "fleet", f))
		if err != nil {
			t.Fatal(err)
		}
		fsys[f] = &fstest.MapFile{Data: data}
	}
	specs, err := Load(fsys, "README.md")
	if err != nil {
		t.Fatalf("README.md's Fleet does not load:\n%v", err)
	}
	if _, err := Validate(specs); err != nil {
		t.Errorf("README.md's Fleet, with examples/fleet's deployments, is refused:\n%v", err)
	}
}

// TestReadmeLockdownPatchBuilds: the flux-system kustomization.yaml that
// README.md shows for the multi-tenancy lockdown builds over stand-ins for
// bootstrap's gotk-components.yaml and gotk-sync.yaml, and gives
// kustomize-controller and helm-controller the flags the text names, and
// bootstrap's Kustomization its service account.
func TestReadmeLockdownPatchBuilds(t *testing.T) {
	kustomization := readmeYAML(t, "value: --no-cross-namespace-refs=true")
	controller := func(name string) string {
		return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: " + name + ", namespace: flux-system}\n" +
			"spec:\n  template:\n    spec:\n      containers:\n      - name: manager\n        image: " + name + "\n        args: [--watch-all-namespaces=true]\n"
	}
	fSys := filesys.MakeFsInMemory()
	for name, data := range map[string]string{
		"kustomization.yaml":   kustomization,
		"gotk-components.yaml": controller("kustomize-controller") + "---\n" + controller("helm-controller") + "---\n" + controller("source-controller"),
		"gotk-sync.yaml":       "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: flux-system, namespace: flux-system}\nspec: {path: ./clusters/c, prune: true}\n",
	} {
		if err := fSys.WriteFile("/"+name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fSys, "/")
	if err != nil {
		t.Fatalf("README.md's lockdown kustomization.yaml does not build: %v", err)
	}
	want := map[string][]string{
		"kustomize-controller": {"--watch-all-namespaces=true", "--no-cross-namespace-refs=true", "--default-service-account=default", "--no-remote-bases=true", "--concurrent=10"},
		"helm-controller":      {"--watch-all-namespaces=true", "--no-cross-namespace-refs=true", "--default-service-account=default"},
		"source-controller":    {"--watch-all-namespaces=true"},
	}
	for _, r := range res.Resources() {
		switch r.GetKind() {
		case "Deployment":
			args, err := r.GetSlice("spec.template.spec.containers[0].args")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range args {
				got = append(got, a.(string))
			}
			if diff := cmp.Diff(want[r.GetName()], got); diff != "" {
				t.Errorf("%s args (-want +got):\n%s", r.GetName(), diff)
			}
		case "Kustomization":
			if sa, _ := r.GetString("spec.serviceAccountName"); sa != "kustomize-controller" {
				t.Errorf("Kustomization flux-system: serviceAccountName %q, want kustomize-controller", sa)
			}
		}
	}
}
