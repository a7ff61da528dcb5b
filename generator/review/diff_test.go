package review

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fleiogen/fleiogen/generator/fluxbuild"
)

func cm(name string, annotations map[string]any) *fluxbuild.Object {
	md := map[string]any{"name": name, "namespace": "default"}
	if annotations != nil {
		md["annotations"] = annotations
	}
	return &fluxbuild.Object{
		ID:         fluxbuild.ObjectID{Kind: "ConfigMap", Namespace: "default", Name: name},
		APIVersion: "v1",
		Content:    map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": map[string]any{"k": "v"}},
	}
}

func kust(name string, prune bool, objs ...*fluxbuild.Object) *fluxbuild.Kustomization {
	return &fluxbuild.Kustomization{Namespace: "flux-system", Name: name, Prune: prune, Objects: objs}
}

func side(clusters ...*fluxbuild.Cluster) *Side { return &Side{Label: "test", Clusters: clusters} }

// changes lists "Kustomization change object (note)" for a cluster.
func changes(c *ClusterDiff) []string {
	var out []string
	for _, k := range c.Kustomizations {
		for _, o := range k.Objects {
			out = append(out, k.ID+" "+string(o.Change)+" "+o.Object+" ("+o.Note+")")
		}
	}
	return out
}

func TestMovedOrphanedAndDeleted(t *testing.T) {
	keep := map[string]any{fluxbuild.PruneKey: fluxbuild.Disabled}
	base := side(&fluxbuild.Cluster{Name: "c", Kustomizations: []*fluxbuild.Kustomization{
		kust("a", true, cm("moves", nil), cm("goes", nil), cm("kept", keep)),
		kust("b", false, cm("left", nil)),
		kust("gone", true, cm("with-gone", nil)),
	}})
	orphaning := kust("gone-orphan", true, cm("orphan-policy", nil))
	orphaning.DeletionPolicy = "Orphan"
	base.Clusters[0].Kustomizations = append(base.Clusters[0].Kustomizations, orphaning)
	head := side(&fluxbuild.Cluster{Name: "c", Kustomizations: []*fluxbuild.Kustomization{
		kust("a", true),
		kust("b", false, cm("moves", nil)),
	}})
	rep := Compare(base, head, Options{})
	want := []string{
		"flux-system/a deleted ConfigMap default/goes (Flux deletes it (prune))",
		"flux-system/a orphaned ConfigMap default/kept (kept in the cluster, no longer managed: it is marked kustomize.toolkit.fluxcd.io/prune: disabled)",
		"flux-system/b moved ConfigMap default/moves (moved from flux-system/a)",
		"flux-system/b orphaned ConfigMap default/left (kept in the cluster, no longer managed: flux-system/b does not prune)",
		"flux-system/gone deleted ConfigMap default/with-gone (Flux deletes it (prune))",
		"flux-system/gone-orphan orphaned ConfigMap default/orphan-policy (kept in the cluster, no longer managed: flux-system/gone-orphan is deleted and orphans what it applied)",
	}
	if diff := cmp.Diff(want, changes(rep.Clusters[0])); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	wantRisks(t, rep,
		"prune c ConfigMap default/goes",
		"prune c ConfigMap default/moves",
		"prune c ConfigMap default/with-gone")
}

func TestNoiseOnlyChangeRestartsPods(t *testing.T) {
	deploy := func(sum string) *fluxbuild.Object {
		return &fluxbuild.Object{
			ID: fluxbuild.ObjectID{Group: "apps", Kind: "Deployment", Namespace: "default", Name: "web"}, APIVersion: "apps/v1",
			Content: map[string]any{"kind": "Deployment", "metadata": map[string]any{"name": "web"}, "spec": map[string]any{"template": map[string]any{
				"metadata": map[string]any{"annotations": map[string]any{"fleiogen.io/backend-settings-checksum": sum}},
			}}},
		}
	}
	rep := Compare(
		side(&fluxbuild.Cluster{Name: "c", Kustomizations: []*fluxbuild.Kustomization{kust("app", true, deploy("1"))}}),
		side(&fluxbuild.Cluster{Name: "c", Kustomizations: []*fluxbuild.Kustomization{kust("app", true, deploy("2"))}}),
		Options{})
	k := rep.Clusters[0].Kustomizations
	if len(k) != 1 || len(k[0].Objects) != 0 || !cmp.Equal(k[0].Restarts, []string{"Deployment default/web"}) {
		t.Errorf("a checksum-only change should list a restart and no object diff: %+v", k)
	}
}

// TestRemovedClusterPrunes: a cluster removed from the fleet keeps flux
// bootstrap's flux-system in git, so its root Kustomization prunes what
// fleiogen applied there; the diff shows that as deletions with prune risks.
func TestRemovedClusterPrunes(t *testing.T) {
	root := kust(fluxbuild.RootName, true, &fluxbuild.Object{
		ID:         fluxbuild.ObjectID{Group: "kustomize.toolkit.fluxcd.io", Kind: "Kustomization", Namespace: "flux-system", Name: "a"},
		APIVersion: "kustomize.toolkit.fluxcd.io/v1",
		Content:    map[string]any{"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "metadata": map[string]any{"name": "a", "namespace": "flux-system"}},
	})
	a := kust("a", true, cm("x", nil), cm("kept", map[string]any{"kustomize.toolkit.fluxcd.io/prune": "disabled"}))
	a.Parent = root.ID()
	rep := Compare(side(&fluxbuild.Cluster{Name: "old", Kustomizations: []*fluxbuild.Kustomization{root, a}}), side(), Options{})
	if len(rep.Clusters) != 1 || !rep.Clusters[0].Removed {
		t.Fatalf("removed cluster: %+v", rep.Clusters)
	}
	if !rep.Changed() {
		t.Error("a removed cluster is a change")
	}
	got := changes(rep.Clusters[0])
	want := []string{
		"flux-system/flux-system deleted Kustomization flux-system/a (Flux deletes it (prune))",
		"flux-system/a deleted ConfigMap default/x (Flux deletes it (prune))",
	}
	if len(got) != 3 || !cmp.Equal(got[:2], want) || !strings.Contains(got[2], "ConfigMap default/kept") || !strings.Contains(got[2], "orphaned") {
		t.Errorf("changes:\n%s", strings.Join(got, "\n"))
	}
	var risks []string
	for _, r := range rep.Risks {
		risks = append(risks, r.Name+" "+r.Object)
	}
	sort.Strings(risks)
	if !cmp.Equal(risks, []string{"prune ConfigMap default/x", "prune Kustomization flux-system/a"}) {
		t.Errorf("risks: %v", risks)
	}
}

// TestOnlyMaskedValuesChanged: a change inside masked values only is shown
// as such, never as an empty diff and never with the values.
func TestOnlyMaskedValuesChanged(t *testing.T) {
	obj := func(password string) *fluxbuild.Object {
		return &fluxbuild.Object{
			ID:         fluxbuild.ObjectID{Group: "apps", Kind: "Deployment", Namespace: "billing", Name: "x"},
			APIVersion: "apps/v1",
			Content: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "x", "namespace": "billing"},
				"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{
					map[string]any{"name": "c", "env": []any{map[string]any{"name": "DB_PASSWORD", "value": password}}}}}}}},
		}
	}
	od := newObjectDiff(obj("hunter2old"), obj("hunter2new"), Modified)
	if !strings.Contains(od.Diff, "only masked (secret) values changed") || strings.Contains(od.Diff, "hunter2") {
		t.Errorf("diff %q, fields %v", od.Diff, od.Fields)
	}
}
