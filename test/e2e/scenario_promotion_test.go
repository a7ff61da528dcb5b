package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fleiogen/fleiogen/test/e2e/harness"
)

// Scenario 7: promotion. Two simulated clusters run at the same time, each
// its own etcd, kube-apiserver, kube-controller-manager and
// kustomize-controller, each bootstrapped on clusters/<name> of one fleet
// repository from the branch it tracks: staging from main, production from
// prod (also their runtime-info's GIT_BRANCH). A change merged to main
// reaches staging and not production, not even production's cluster and
// tenant Kustomizations; merging main into prod brings production to the
// same state.
func TestPromotion(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	fr := newFleetRepo(t)
	stg := fr.Fleet.cluster(t, "staging")
	prd := fr.Fleet.cluster(t, "production")
	if stg.Branch == prd.Branch {
		t.Fatalf("staging and production both track %q", stg.Branch)
	}
	// The prod branch starts where main is (newFleetRepo).
	base := fr.Repo.Head()
	if b := fr.Repo.Branch(prd.Branch); b != base {
		t.Fatalf("%s at %s, main at %s", prd.Branch, b, base)
	}

	sc, srec := fleioCluster(ctx, t, fr, stg)
	pc, prec := fleioCluster(ctx, t, fr, prd)
	for _, x := range []struct {
		c   *harness.Cluster
		rec *harness.Recorder
		cs  clusterSpec
	}{{sc, srec, stg}, {pc, prec, prd}} {
		if err := x.c.WaitReady(ctx, 15*time.Minute, base, allKSs(fr.Fleet, x.cs)...); err != nil {
			t.Fatalf("fresh install: %v\ntransitions:\n%s", err, x.rec.Format())
		}
	}
	d := findDeploy(t, fr.Fleet, "billing", "cloud")
	cm := client.ObjectKey{Namespace: d.Namespace, Name: "fleio-" + d.Name + "-backend-settings"}
	settings := func(c *harness.Cluster) string {
		var x corev1.ConfigMap
		if err := c.Client.Get(ctx, cm, &x); err != nil {
			t.Fatalf("cluster %s: ConfigMap %s: %v", c.Name, cm, err)
		}
		return x.Data["settings"]
	}
	prodBefore := settings(pc)

	// A change merged to main.
	fr.editSpec(t, "billing/fleio.yaml", "SESSION_COOKIE_AGE: 28800", "SESSION_COOKIE_AGE: 1800")
	mainCommit := fr.rerender(t, "settings: 30-minute sessions")
	if err := sc.WaitReady(ctx, 10*time.Minute, mainCommit, allKSs(fr.Fleet, stg)...); err != nil {
		t.Fatalf("staging: %v\ntransitions:\n%s", err, srec.Format())
	}
	if !strings.Contains(settings(sc), "SESSION_COOKIE_AGE = 1800") {
		t.Fatalf("staging ConfigMap %s lacks the change merged to main", cm)
	}
	// Production reads everything from prod: its flux-system and tenant
	// Kustomizations and its stages all stay at prod's commit.
	prodHead := fr.Repo.Branch(prd.Branch)
	if err := pc.WaitReady(ctx, 2*time.Minute, prodHead, allKSs(fr.Fleet, prd)...); err != nil {
		t.Fatalf("production: %v", err)
	}
	sources := [][2]string{{"flux-system", "flux-system"}}
	for _, tn := range prd.Tenants {
		sources = append(sources, [2]string{tn, "fleet"})
	}
	for _, src := range sources {
		rev, err := pc.SourceRevision(ctx, src[0], src[1])
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(rev, prd.Branch+"@sha1:"+prodHead) {
			t.Fatalf("production GitRepository %s/%s at %q, want %s@sha1:%s", src[0], src[1], rev, prd.Branch, prodHead)
		}
	}
	if got := settings(pc); got != prodBefore {
		t.Fatalf("production ConfigMap %s changed before promotion", cm)
	}

	// Promote: merge main into prod.
	fr.Repo.Git("checkout", "-q", prd.Branch)
	fr.Repo.Git("merge", "-q", "--no-ff", "-m", "promote main to prod", "main")
	promoted := fr.Repo.Head()
	fr.Repo.Git("checkout", "-q", "main")
	merged := time.Now()
	if err := pc.WaitReady(ctx, 10*time.Minute, promoted, d.stageKSs()...); err != nil {
		t.Fatalf("production after the merge: %v\ntransitions:\n%s", err, prec.Format())
	}
	t.Logf("production Ready at the promoted commit %s after the merge", time.Since(merged).Round(100*time.Millisecond))
	got := settings(pc)
	if !strings.Contains(got, "SESSION_COOKIE_AGE = 1800") {
		t.Fatalf("production ConfigMap %s lacks the promoted change", cm)
	}
	// "The same state": the trees of both branches are identical, so
	// production's settings differ from staging's only by its runtime-info.
	if diff := fr.Repo.Git("diff", "main", prd.Branch, "--stat"); diff != "" {
		t.Fatalf("main and %s differ after the merge:\n%s", prd.Branch, diff)
	}
}
