package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fleiogen/fleiogen/test/e2e/harness"
)

// Scenario 1, for the examples and the variant fleet (testdata/variant):
// every object the rendered tree holds for each cluster, built
// per Flux Kustomization as kustomize-controller builds it and substituted
// with that cluster's runtime-info, passes server-side dry-run apply
// against the real kube-apiserver with all CRDs installed.
func TestDryRunRenderedTree(t *testing.T) {
	for _, set := range specSets() {
		t.Run(set.Name, func(t *testing.T) { dryRunRenderedTree(t, set.Dir) })
	}
}

func dryRunRenderedTree(t *testing.T, specs string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	fr := newFleetRepoFrom(t, specs)
	c := harness.Start(t, bins, harness.Options{Name: "dryrun", Repo: fr.Repo.Dir})

	var failures []string
	total := 0
	for _, cs := range fr.Fleet.Clusters {
		built, err := harness.BuildTree(fr.Repo.Dir, "clusters/"+cs.Name)
		if err != nil {
			failures = append(failures, fmt.Sprintf("cluster %s: build: %v", cs.Name, err))
			continue
		}
		owner := map[string]string{}
		// Namespaces first, for real: dry-run of a namespaced object in a
		// namespace that does not exist fails (kustomize-controller applies
		// Namespaces and CRDs in a first stage too).
		for _, phase := range []string{"namespaces", "rest"} {
			for _, b := range built {
				for _, o := range b.Objects {
					isNS := o.GetKind() == "Namespace" && o.GetAPIVersion() == "v1"
					if (phase == "namespaces") != isNS {
						continue
					}
					id := fmt.Sprintf("%s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
					if phase == "rest" {
						total++
						if prev, dup := owner[id]; dup {
							failures = append(failures, fmt.Sprintf("cluster %s: %s is applied by both Kustomization %s and %s", cs.Name, id, prev, b.KS))
						}
						owner[id] = b.KS.String()
					}
					err := c.Apply(ctx, o, client.DryRunAll, client.FieldOwner("kustomize-controller"))
					if err == nil && isNS {
						err = c.Apply(ctx, o, client.FieldOwner("kustomize-controller"))
					}
					if err != nil {
						failures = append(failures, fmt.Sprintf("cluster %s: %s (Kustomization %s, path %s): %v", cs.Name, id, b.KS, b.Path, err))
					}
				}
			}
		}
		t.Logf("cluster %s: %d Kustomizations built", cs.Name, len(built))
	}
	if len(failures) > 0 {
		t.Fatalf("%d of %d objects failed (server-side dry-run apply on kube-apiserver %s):\n%s",
			len(failures), total, harness.KubernetesVersion, strings.Join(failures, "\n"))
	}
	t.Logf("%d objects passed server-side dry-run", total)
}

// Scenario 2, for the staging cluster of the examples and each cluster of
// the variant fleet: a fresh cluster bootstrapped as `flux bootstrap` would brings
// every stage of every FleioDeployment to Ready, in dependsOn order, and the
// objects the operator guide names exist.
func TestFreshInstall(t *testing.T) {
	for _, tc := range []struct{ name, specs, env string }{
		{"examples", examplesDir(), "staging"},
		{"variant", variantDir(), "staging"},
		// cert-manager already on the cluster (no HelmRelease), two
		// FleioDeployments in one namespace
		{"variant-production", variantDir(), "production"},
		// self-signed issuers on .internal, a third environment
		{"variant-lab", variantDir(), "lab"},
	} {
		t.Run(tc.name, func(t *testing.T) { freshInstall(t, tc.specs, tc.env) })
	}
}

func freshInstall(t *testing.T, specs, env string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	fr := newFleetRepoFrom(t, specs)
	cs := fr.Fleet.cluster(t, env)
	commit := fr.Repo.Head()
	bootstrapped := time.Now()
	c, rec := fleioCluster(ctx, t, fr, cs)
	want := allKSs(fr.Fleet, cs)
	if err := c.WaitReady(ctx, 15*time.Minute, commit, want...); err != nil {
		t.Fatalf("%v\ntransitions:\n%s", err, rec.Format())
	}
	expectKSSet(ctx, t, c, want)
	checkDependsOnOrder(ctx, t, c, rec, commit, bootstrapped)
	for _, d := range fr.Fleet.deploysIn(cs) {
		at, _ := rec.FirstReady(d.stageKS("app"), commit, bootstrapped)
		pre, _ := rec.FirstReady(d.stageKS("preflight"), commit, bootstrapped)
		t.Logf("FleioDeployment %s: bootstrap to all stages Ready %s (preflight Ready to app Ready %s)",
			d.ID(), at.Sub(bootstrapped).Round(100*time.Millisecond), at.Sub(pre).Round(100*time.Millisecond))
		checkOperatorObjects(ctx, t, c, d)
	}
}

// checkDependsOnOrder asserts, for every Kustomization with dependsOn, that
// it became Ready after each dependency did, and that no object in its
// inventory was created before its dependencies were Ready.
func checkDependsOnOrder(ctx context.Context, t testing.TB, c *harness.Cluster, rec *harness.Recorder, commit string, since time.Time) {
	t.Helper()
	items, err := c.ListKustomizations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	edges := 0
	for _, ks := range items {
		me := harness.KS{Namespace: ks.Namespace, Name: ks.Name}
		mine, ok := rec.FirstReady(me, commit, since)
		if !ok {
			problems = append(problems, fmt.Sprintf("Kustomization %s: never seen Ready at %s", me, commit))
			continue
		}
		for _, dep := range ks.Spec.DependsOn {
			ns := dep.Namespace
			if ns == "" {
				ns = ks.Namespace
			}
			other := harness.KS{Namespace: ns, Name: dep.Name}
			edges++
			theirs, ok := rec.FirstReady(other, commit, since)
			if !ok {
				problems = append(problems, fmt.Sprintf("Kustomization %s depends on %s, which was never seen Ready", me, other))
				continue
			}
			if !theirs.Before(mine) {
				problems = append(problems, fmt.Sprintf("Kustomization %s Ready at %s, not after its dependency %s (Ready at %s)",
					me, mine.Format("15:04:05.000"), other, theirs.Format("15:04:05.000")))
			}
			// Nothing of mine may have been created before the dependency
			// was Ready (creationTimestamp has one-second resolution).
			for _, id := range inventory(&ks) {
				created, err := creationTime(ctx, c, id)
				if err != nil {
					continue
				}
				if created.Before(theirs.Truncate(time.Second)) {
					problems = append(problems, fmt.Sprintf("%s (Kustomization %s) created at %s, before dependency %s was Ready at %s",
						id, me, created.Format("15:04:05"), other, theirs.Format("15:04:05.000")))
				}
			}
		}
	}
	if len(problems) > 0 {
		t.Fatalf("dependsOn order violated:\n%s\ntransitions:\n%s", strings.Join(problems, "\n"), rec.Format())
	}
	t.Logf("dependsOn order held on %d edges", edges)
}

func inventory(ks *kustomizev1.Kustomization) []string {
	if ks.Status.Inventory == nil {
		return nil
	}
	var out []string
	for _, e := range ks.Status.Inventory.Entries {
		out = append(out, e.ID+"_"+e.Version)
	}
	return out
}

// objectFromID parses a Flux inventory ID "<ns>_<name>_<group>_<kind>_<version>".
func objectFromID(id string) (*unstructured.Unstructured, error) {
	parts := strings.Split(id, "_")
	if len(parts) != 5 {
		return nil, fmt.Errorf("bad inventory id %q", id)
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: parts[2], Kind: parts[3], Version: parts[4]})
	u.SetNamespace(parts[0])
	u.SetName(parts[1])
	return u, nil
}

// creationTime returns when kustomize-controller created the object; an
// error if it does not exist or someone else wrote it first (the test
// creates the tenant namespaces with the operator's Secrets beforehand).
func creationTime(ctx context.Context, c *harness.Cluster, id string) (time.Time, error) {
	u, err := objectFromID(id)
	if err != nil {
		return time.Time{}, err
	}
	if err := c.Client.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
		return time.Time{}, err
	}
	for _, mf := range u.GetManagedFields() {
		if mf.Manager != "kustomize-controller" && mf.Subresource == "" {
			return time.Time{}, fmt.Errorf("%s was also written by %s", id, mf.Manager)
		}
	}
	return u.GetCreationTimestamp().Time, nil
}

// checkOperatorObjects asserts the objects Fleio's operator guide names exist
// with those names, and are in the state the stages waited for.
func checkOperatorObjects(ctx context.Context, t testing.TB, c *harness.Cluster, d deploySpec) {
	t.Helper()
	ns, p := d.Namespace, "fleio-"+d.Name
	var problems []string
	get := func(obj client.Object, name string) bool {
		if err := c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
			problems = append(problems, fmt.Sprintf("%T %s/%s: %v", obj, ns, name, err))
			return false
		}
		return true
	}
	var cm corev1.ConfigMap
	if get(&cm, p+"-backend-settings") && cm.Data["settings"] == "" {
		problems = append(problems, "ConfigMap "+p+"-backend-settings has no data.settings")
	}
	if get(&cm, p+"-frontend-settings") && (cm.Data["enduserConfigFile"] == "" || cm.Data["staffConfigFile"] == "") {
		problems = append(problems, "ConfigMap "+p+"-frontend-settings lacks data.enduserConfigFile or data.staffConfigFile")
	}
	var sec corev1.Secret
	if get(&sec, p+"-deployment-keys") && (len(sec.Data["secretKey"]) == 0 || len(sec.Data["ssoSalt"]) == 0) {
		problems = append(problems, "Secret "+p+"-deployment-keys lacks secretKey or ssoSalt")
	}
	pvcs := []string{p + "-compiled-pvc", p + "-log-pvc", p + "-var-pvc", p + "-database-backups"}
	for _, n := range pvcs {
		var pvc corev1.PersistentVolumeClaim
		get(&pvc, n)
	}
	for _, n := range []string{p + "-setup-database", p + "-set-license"} {
		var job batchv1.Job
		if get(&job, n) && job.Status.Succeeded == 0 {
			problems = append(problems, "Job "+n+" has not succeeded")
		}
	}
	var ing networkingv1.Ingress
	get(&ing, p)
	cert := &unstructured.Unstructured{}
	cert.SetGroupVersionKind(schema.GroupVersionKind{Group: "cert-manager.io", Version: "v1", Kind: "Certificate"})
	get(cert, p+"-tls")
	issuer := &unstructured.Unstructured{}
	issuer.SetGroupVersionKind(schema.GroupVersionKind{Group: "cert-manager.io", Version: "v1", Kind: "ClusterIssuer"})
	if err := c.Client.Get(ctx, client.ObjectKey{Name: p + "-acme-issuer"}, issuer); err != nil {
		problems = append(problems, fmt.Sprintf("ClusterIssuer %s-acme-issuer: %v", p, err))
	}
	if d.Backups {
		var cj batchv1.CronJob
		get(&cj, p+"-backup")
	}
	var deps appsv1.DeploymentList
	if err := c.Client.List(ctx, &deps, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, dep := range deps.Items {
		if !strings.HasPrefix(dep.Name, p+"-") {
			continue
		}
		names = append(names, dep.Name)
		if dep.Status.AvailableReplicas < ptrDeref(dep.Spec.Replicas) {
			problems = append(problems, fmt.Sprintf("Deployment %s/%s has %d available replicas, wants %d", ns, dep.Name, dep.Status.AvailableReplicas, ptrDeref(dep.Spec.Replicas)))
		}
	}
	sort.Strings(names)
	for _, svc := range []string{"backend", "frontend"} {
		if !contains(names, p+"-"+svc) {
			problems = append(problems, fmt.Sprintf("no Deployment %s-%s (have %v)", p, svc, names))
		}
	}
	if d.Utils && !contains(names, p+"-utils") {
		problems = append(problems, fmt.Sprintf("deployUtilsContainer is on but there is no Deployment %s-utils (have %v)", p, names))
	}
	if len(problems) > 0 {
		t.Fatalf("FleioDeployment %s: objects from the operator guide:\n%s", d.ID(), strings.Join(problems, "\n"))
	}
	t.Logf("FleioDeployment %s: operator-guide objects present; Deployments %v", d.ID(), names)
}

func ptrDeref(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
