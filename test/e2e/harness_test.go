package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fleiogen/fleiogen/test/e2e/harness"
)

// TestHarnessHandwrittenChain proves the harness on a small hand-written
// Flux tree (testdata/handwritten): a tenant Kustomization applied as cluster
// admin creates a namespace, a ServiceAccount bound to "admin" and a chain
// of three Kustomizations impersonating it: a Job, then a PVC, then a
// Deployment that mounts the PVC and a generated ConfigMap. A failing Job
// must stop the chain, and fixing it must let the chain complete.
func TestHarnessHandwrittenChain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	repo := harness.NewRepo(t)
	copyTree(t, filepath.Join(harness.E2EDir(), "testdata", "handwritten"), repo.Dir)
	harness.WriteBootstrap(repo, "clusters/test", "main")
	commit := repo.CommitAll("hand-written fleet")

	// The Job fails first: the chain must stop at hw-a.
	failing := harness.WorkloadPolicy{JobOutcome: func(j *batchv1.Job) (harness.Outcome, string) {
		return harness.Fail, "stand-in: scenario says the setup job fails"
	}}
	c := harness.Start(t, bins, harness.Options{Name: "handwritten", Repo: repo.Dir, Workloads: failing})
	rec, err := c.Record(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Bootstrap(ctx, "clusters/test", "main"); err != nil {
		t.Fatal(err)
	}
	fluxSystem := harness.KS{Namespace: "flux-system", Name: "flux-system"}
	tenant := harness.KS{Namespace: "flux-system", Name: "tenant-hw"}
	a, b, cc := harness.KS{Namespace: "hw", Name: "hw-a"}, harness.KS{Namespace: "hw", Name: "hw-b"}, harness.KS{Namespace: "hw", Name: "hw-c"}
	if err := c.WaitReady(ctx, 2*time.Minute, commit, fluxSystem, tenant); err != nil {
		t.Fatal(err)
	}
	// hw-a must report the failed Job.
	if err := c.Poll(ctx, 2*time.Minute, "Kustomization hw/hw-a Ready=False naming Job hw/hw-setup", func() (bool, string, error) {
		s, err := c.KSStatus(ctx, a)
		if err != nil {
			return false, "", err
		}
		return s.Ready == "False" && strings.Contains(s.Message, "Job/hw/hw-setup"), s.String(), nil
	}); err != nil {
		t.Fatal(err)
	}
	// ...and nothing of the later stages may exist.
	pvc := &corev1.PersistentVolumeClaim{}
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: "hw", Name: "hw-data"}, pvc); err == nil {
		t.Fatalf("PVC hw/hw-data exists although hw-a (which hw-b depends on) is not Ready")
	}
	if s, _ := c.KSStatus(ctx, b); s.Ready == "True" {
		t.Fatalf("Kustomization hw/hw-b Ready although its dependency failed: %s", s)
	}

	// Fix: the Job now succeeds. The failed Job is immutable; as a human
	// would, delete it so that kustomize-controller recreates it.
	c.Workloads.SetPolicy(harness.WorkloadPolicy{})
	if err := c.Client.Delete(ctx, &batchv1.Job{ObjectMeta: metaName("hw", "hw-setup")}, client.PropagationPolicy("Background")); err != nil {
		t.Fatal(err)
	}
	// kustomize-controller only retries at spec.interval (10m here), so ask
	// for a reconcile as `flux reconcile ks hw-a` would.
	if err := c.RequestReconcile(ctx, a); err != nil {
		t.Fatal(err)
	}
	fixed := time.Now()
	if err := c.WaitReady(ctx, 3*time.Minute, commit, a, b, cc); err != nil {
		t.Fatalf("%v\ntransitions:\n%s", err, rec.Format())
	}
	t.Logf("chain Ready %s after the fix", time.Since(fixed).Round(100*time.Millisecond))

	// Order: a before b before c.
	ta, _ := rec.FirstReady(a, commit, fixed)
	tb, _ := rec.FirstReady(b, commit, fixed)
	tc, _ := rec.FirstReady(cc, commit, fixed)
	if !(ta.Before(tb) && tb.Before(tc)) {
		t.Fatalf("Ready order wrong: hw-a %s, hw-b %s, hw-c %s\n%s", ta.Format("15:04:05.000"), tb.Format("15:04:05.000"), tc.Format("15:04:05.000"), rec.Format())
	}

	var d appsv1.Deployment
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: "hw", Name: "hw-web"}, &d); err != nil {
		t.Fatal(err)
	}
	if d.Status.AvailableReplicas != 2 {
		t.Fatalf("Deployment hw/hw-web availableReplicas=%d, want 2", d.Status.AvailableReplicas)
	}
	settings := d.Spec.Template.Spec.Volumes[1].ConfigMap.Name
	if !strings.HasPrefix(settings, "hw-settings-") {
		t.Fatalf("Deployment hw/hw-web mounts ConfigMap %q, want the generated hw-settings-<hash>", settings)
	}
	var cm corev1.ConfigMap
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: "hw", Name: settings}, &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Data["environment"] != "test" {
		t.Fatalf("ConfigMap hw/%s environment=%q: postBuild substitution from flux-runtime-info did not happen", settings, cm.Data["environment"])
	}

	// A change reaches the cluster: new settings -> new ConfigMap -> new pod template.
	repo.WriteFile("apps/c/kustomization.yaml", strings.Replace(readFile(t, filepath.Join(repo.Dir, "apps/c/kustomization.yaml")), "greeting=hello", "greeting=bonjour", 1))
	changedAt := time.Now()
	commit2 := repo.CommitAll("change greeting")
	if err := c.WaitReady(ctx, 2*time.Minute, commit2, cc); err != nil {
		t.Fatal(err)
	}
	t.Logf("commit to Ready (hw-c) in %s", time.Since(changedAt).Round(100*time.Millisecond))
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: "hw", Name: "hw-web"}, &d); err != nil {
		t.Fatal(err)
	}
	if got := d.Spec.Template.Spec.Volumes[1].ConfigMap.Name; got == settings {
		t.Fatalf("Deployment hw/hw-web still mounts %s after the settings change", got)
	}
}
