package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fleiogen/fleiogen/test/e2e/harness"
)

// snapshotKinds are the kinds a FleioDeployment's stages create (plus
// Secrets and the tenant's own objects), compared before and after a change.
var snapshotKinds = []schema.GroupVersionKind{
	{Version: "v1", Kind: "Namespace"},
	{Version: "v1", Kind: "ConfigMap"},
	{Version: "v1", Kind: "Secret"},
	{Version: "v1", Kind: "Service"},
	{Version: "v1", Kind: "ServiceAccount"},
	{Version: "v1", Kind: "PersistentVolumeClaim"},
	{Group: "apps", Version: "v1", Kind: "Deployment"},
	{Group: "batch", Version: "v1", Kind: "Job"},
	{Group: "batch", Version: "v1", Kind: "CronJob"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"},
	{Group: "cert-manager.io", Version: "v1", Kind: "Certificate"},
	{Group: "cert-manager.io", Version: "v1", Kind: "ClusterIssuer"},
	{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization"},
	{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "GitRepository"},
}

type snapEntry struct {
	UID     string
	Content string // normalized JSON: no status, no server-set metadata
	Obj     *unstructured.Unstructured
}

type snapshot map[string]snapEntry

// takeSnapshot records the objects of snapshotKinds in the namespaces (and
// the cluster-scoped ones), skipping ServiceAccount token/CA noise.
func takeSnapshot(ctx context.Context, t testing.TB, c *harness.Cluster, namespaces ...string) snapshot {
	t.Helper()
	want := map[string]bool{"": true}
	for _, n := range namespaces {
		want[n] = true
	}
	s := snapshot{}
	for _, gvk := range snapshotKinds {
		var l unstructured.UnstructuredList
		l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.Client.List(ctx, &l); err != nil {
			t.Fatalf("list %s: %v", gvk.Kind, err)
		}
		for i := range l.Items {
			o := &l.Items[i]
			if !want[o.GetNamespace()] || o.GetName() == "kube-root-ca.crt" || (gvk.Kind == "ServiceAccount" && o.GetName() == "default") {
				continue
			}
			s[gvk.Kind+" "+strings.TrimPrefix(o.GetNamespace()+"/"+o.GetName(), "/")] = snapEntry{UID: string(o.GetUID()), Content: normalize(o), Obj: o}
		}
	}
	return s
}

func normalize(o *unstructured.Unstructured) string {
	n := o.DeepCopy()
	delete(n.Object, "status")
	for _, f := range []string{"resourceVersion", "managedFields", "generation", "uid", "creationTimestamp"} {
		unstructured.RemoveNestedField(n.Object, "metadata", f)
	}
	// kustomize-controller's request annotation is bookkeeping.
	unstructured.RemoveNestedField(n.Object, "metadata", "annotations", "reconcile.fluxcd.io/requestedAt")
	b, _ := json.Marshal(n.Object)
	return string(b)
}

// diffSnapshots returns what was added, removed, changed (content) and
// recreated (same content, new UID).
func diffSnapshots(before, after snapshot) (added, removed, changed, recreated []string) {
	for k, a := range after {
		b, ok := before[k]
		switch {
		case !ok:
			added = append(added, k)
		case b.Content != a.Content:
			changed = append(changed, k)
		case b.UID != a.UID:
			recreated = append(recreated, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			removed = append(removed, k)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	sort.Strings(changed)
	sort.Strings(recreated)
	return
}

// fieldDiff names the top-level paths that differ, for failure messages.
func fieldDiff(a, b string) string {
	var x, y map[string]any
	_ = json.Unmarshal([]byte(a), &x)
	_ = json.Unmarshal([]byte(b), &y)
	var out []string
	var walk func(p string, u, v any)
	walk = func(p string, u, v any) {
		um, ok1 := u.(map[string]any)
		vm, ok2 := v.(map[string]any)
		if ok1 && ok2 && len(out) < 8 {
			keys := map[string]bool{}
			for k := range um {
				keys[k] = true
			}
			for k := range vm {
				keys[k] = true
			}
			for k := range keys {
				walk(p+"."+k, um[k], vm[k])
			}
			return
		}
		ub, _ := json.Marshal(u)
		vb, _ := json.Marshal(v)
		if string(ub) != string(vb) && len(out) < 8 {
			out = append(out, fmt.Sprintf("%s: %.80s -> %.80s", p, ub, vb))
		}
	}
	walk("", x, y)
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// installed runs a fresh install of cluster cs and waits until every
// Kustomization is Ready at the fleet's HEAD.
func installed(ctx context.Context, t *testing.T, fr *fleetRepo, cs clusterSpec) (*harness.Cluster, *harness.Recorder, string) {
	t.Helper()
	commit := fr.Repo.Head()
	c, rec := fleioCluster(ctx, t, fr, cs)
	if err := c.WaitReady(ctx, 15*time.Minute, commit, allKSs(fr.Fleet, cs)...); err != nil {
		t.Fatalf("fresh install before the scenario: %v\ntransitions:\n%s", err, rec.Format())
	}
	return c, rec, commit
}

// objectGone waits until obj (namespace/name set) no longer exists.
func objectGone(ctx context.Context, c *harness.Cluster, obj client.Object, timeout time.Duration) error {
	what := fmt.Sprintf("%T %s/%s to be deleted", obj, obj.GetNamespace(), obj.GetName())
	return c.Poll(ctx, timeout, what, func() (bool, string, error) {
		err := c.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		if err != nil {
			return client.IgnoreNotFound(err) == nil, err.Error(), nil
		}
		return false, fmt.Sprintf("still exists (deletionTimestamp %v)", obj.GetDeletionTimestamp()), nil
	})
}
