package e2e

import (
	"bytes"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/fleiogen/fleiogen/test/e2e/harness"
)

// TestBuildersAgree: the harness builds each Flux Kustomization with
// kustomize-controller's own build code (fluxcd/pkg/kustomize), and
// `fleiogen build` (what the review commands use) with generator/fluxbuild.
// For every cluster of the examples and of the variant fleet both must
// produce the same objects, owned by the same Kustomizations, with the same
// content. No cluster is started.
func TestBuildersAgree(t *testing.T) {
	for _, set := range specSets() {
		t.Run(set.Name, func(t *testing.T) { buildersAgree(t, set.Dir) })
	}
}

func buildersAgree(t *testing.T, specs string) {
	fr := newFleetRepoFrom(t, specs)
	for _, cs := range fr.Fleet.Clusters {
		built, err := harness.BuildTree(fr.Repo.Dir, "clusters/"+cs.Name)
		if err != nil {
			t.Fatalf("cluster %s: harness build: %v", cs.Name, err)
		}
		want := map[string]string{}
		for _, b := range built {
			for _, o := range b.Objects {
				// flux bootstrap's own objects; fleiogen build leaves
				// clusters/<cluster>/flux-system/ out.
				if o.GetNamespace() == "flux-system" && o.GetName() == "flux-system" {
					continue
				}
				want[b.KS.String()+" "+objectKey(o)] = content(t, o)
			}
		}

		out, err := exec.Command(fleiogen(t), "build", "--cluster", cs.Name, fr.Specs).Output()
		if err != nil {
			t.Fatalf("cluster %s: fleiogen build: %v", cs.Name, err)
		}
		got := map[string]string{}
		for _, doc := range bytes.Split(out, []byte("\n---\n")) {
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			o := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(doc, &o.Object); err != nil {
				t.Fatalf("cluster %s: fleiogen build output: %v", cs.Name, err)
			}
			labels := o.GetLabels()
			owner := labels["kustomize.toolkit.fluxcd.io/namespace"] + "/" + labels["kustomize.toolkit.fluxcd.io/name"]
			got[owner+" "+objectKey(o)] = content(t, o)
		}
		if len(want) == 0 {
			t.Fatalf("cluster %s: the harness built nothing", cs.Name)
		}
		var problems []string
		for k, w := range want {
			g, ok := got[k]
			switch {
			case !ok:
				problems = append(problems, "only the harness builds "+k)
			case g != w:
				problems = append(problems, fmt.Sprintf("%s differs (-harness +fleiogen):\n%s", k, cmp.Diff(w, g)))
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				problems = append(problems, "only fleiogen build builds "+k)
			}
		}
		sort.Strings(problems)
		if len(problems) > 0 {
			t.Errorf("cluster %s: %d of %d objects disagree:\n%s", cs.Name, len(problems), len(want), strings.Join(problems, "\n"))
		} else {
			t.Logf("cluster %s: both builders give the same %d objects", cs.Name, len(want))
		}
	}
}

func objectKey(o *unstructured.Unstructured) string {
	return o.GetAPIVersion() + " " + o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
}

// content is the object as YAML without the owner labels Flux adds on apply.
func content(t *testing.T, o *unstructured.Unstructured) string {
	t.Helper()
	c := o.DeepCopy()
	labels := c.GetLabels()
	delete(labels, "kustomize.toolkit.fluxcd.io/name")
	delete(labels, "kustomize.toolkit.fluxcd.io/namespace")
	if len(labels) == 0 {
		labels = nil
	}
	c.SetLabels(labels)
	y, err := yaml.Marshal(c.Object)
	if err != nil {
		t.Fatal(err)
	}
	return string(y)
}
