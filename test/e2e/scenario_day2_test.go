package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/fleiogen/fleiogen/test/e2e/harness"
)

// Scenario 3: with the admin Secret missing and the database down (the
// stand-in fails the preflight's database check), the preflight stage is
// not Ready, its message names the Secret and the database check's result
// ConfigMap, and no later stage applies anything; bringing the database
// back and creating the Secret lets the chain complete.
func TestPreflightStopsChain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	fr := newFleetRepo(t)
	cs := fr.Fleet.cluster(t, "staging")
	d := fr.Fleet.deploysIn(cs)[0]
	missing := d.Namespace + "/" + d.AdminSecret
	dbResult := "fleio-" + d.Name + "-preflight-database"
	setServerDown(cs.Name, d.Namespace, dbResult, true)
	defer setServerDown(cs.Name, d.Namespace, dbResult, false)
	commit := fr.Repo.Head()
	c, rec := fleioCluster(ctx, t, fr, cs, missing)
	pre := d.stageKS("preflight")

	// The platform and the tenant come up; preflight reports the Secret.
	if err := c.WaitReady(ctx, 5*time.Minute, commit, platformKSs(cs)...); err != nil {
		t.Fatal(err)
	}
	dbCheck := "ConfigMap/" + d.Namespace + "/" + dbResult
	redisCheck := "ConfigMap/" + d.Namespace + "/fleio-" + d.Name + "-preflight-redis"
	err := c.Poll(ctx, 6*time.Minute, fmt.Sprintf("Kustomization %s Ready=False naming Secret %s and %s, not %s", pre, missing, dbCheck, redisCheck), func() (bool, string, error) {
		s, err := c.KSStatus(ctx, pre)
		if err != nil {
			return false, "", err
		}
		return s.Ready == metav1.ConditionFalse && strings.Contains(s.Message, d.AdminSecret) &&
			strings.Contains(s.Message, dbCheck) && !strings.Contains(s.Message, redisCheck), s.String(), nil
	})
	if err != nil {
		t.Errorf("%v\ntransitions:\n%s", err, rec.Format())
	}

	// No later stage applied anything.
	for _, st := range stages[1:] {
		k := d.stageKS(st)
		s, err := c.KSStatus(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if s.Ready == metav1.ConditionTrue || s.LastApplied != "" || len(s.Inventory) > 0 {
			t.Errorf("Kustomization %s applied something although preflight is not Ready: %s inventory=%v", k, s, s.Inventory)
		}
	}
	p := "fleio-" + d.Name
	for _, obj := range []client.Object{
		&corev1.ConfigMap{ObjectMeta: metaName(d.Namespace, p+"-backend-settings")},
		&corev1.PersistentVolumeClaim{ObjectMeta: metaName(d.Namespace, p+"-var-pvc")},
		&batchv1.Job{ObjectMeta: metaName(d.Namespace, p+"-deployment-keys")},
		&batchv1.Job{ObjectMeta: metaName(d.Namespace, p+"-setup-database")},
		&appsv1.Deployment{ObjectMeta: metaName(d.Namespace, p+"-backend")},
	} {
		if err := c.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err == nil {
			t.Errorf("%T %s/%s exists although preflight is not Ready", obj, obj.GetNamespace(), obj.GetName())
		}
	}

	// The database comes back and the operator creates the Secret;
	// nothing else is done by hand.
	setServerDown(cs.Name, d.Namespace, dbResult, false)
	created := time.Now()
	createOperatorSecrets(ctx, t, c, []*corev1.Secret{basicAuth(d.Namespace, d.AdminSecret)})
	err = c.WaitReady(ctx, 10*time.Minute, commit, d.stageKSs()...)
	if err == nil {
		t.Logf("chain Ready %s after the Secret was created", time.Since(created).Round(100*time.Millisecond))
		return
	}
	var job batchv1.Job
	jobState := "?"
	if c.Client.Get(ctx, client.ObjectKey{Namespace: d.Namespace, Name: p + "-preflight"}, &job) == nil {
		jobState = fmt.Sprintf("active=%d failed=%d conditions=%v", job.Status.Active, job.Status.Failed, job.Status.Conditions)
	}
	t.Errorf("bringing the database back and creating Secret %s did not let the chain complete within 10m: %v\nJob %s/%s-preflight: %s\ntransitions:\n%s", missing, err, d.Namespace, p, jobState, rec.Format())
}

// usesConfigMap reports whether a pod template reads ConfigMap name.
func usesConfigMap(spec *corev1.PodSpec, name string) bool {
	for _, v := range spec.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == name {
			return true
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil && s.ConfigMap.Name == name {
					return true
				}
			}
		}
	}
	for _, ctr := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		for _, e := range ctr.EnvFrom {
			if e.ConfigMapRef != nil && e.ConfigMapRef.Name == name {
				return true
			}
		}
		for _, e := range ctr.Env {
			if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil && e.ValueFrom.ConfigMapKeyRef.Name == name {
				return true
			}
		}
	}
	return false
}

// Scenario 4: a settings change in the spec changes the settings ConfigMap
// and gives the Deployments that read it a new pod template; nothing else
// changes. Also measures commit-to-Ready for one FleioDeployment.
func TestSettingsChange(t *testing.T) {
	for _, tc := range []struct{ name, specs, ns, deploy, file, old, new, want string }{
		{"examples", examplesDir(), "billing", "cloud", "billing/fleio.yaml", "SESSION_COOKIE_AGE: 28800", "SESSION_COOKIE_AGE: 3600", "SESSION_COOKIE_AGE = 3600"},
		// one of two FleioDeployments in a namespace: the other's pods
		// stay as they are
		{"variant", variantDir(), "alpha", "abcdefghijklmnopqrstuvwxyz0123456789abc", "alpha.yaml", "BIG: 12345678901234567890", "BIG: 42", "BIG = 42"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			settingsChange(t, tc.specs, tc.ns, tc.deploy, tc.file, tc.old, tc.new, tc.want)
		})
	}
}

func settingsChange(t *testing.T, specs, ns, name, file, old, new, want string) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	fr := newFleetRepoFrom(t, specs)
	cs := fr.Fleet.cluster(t, "staging")
	c, rec, _ := installed(ctx, t, fr, cs)
	d := findDeploy(t, fr.Fleet, ns, name)
	before := takeSnapshot(ctx, t, c, cs.Tenants...)

	fr.editSpec(t, file, old, new)
	committed := time.Now()
	commit := fr.rerenderFor(t, cs, "settings: "+new+" for "+d.ID())
	t.Logf("files changed by the re-render: %v", fr.Repo.ChangedFiles("HEAD~1", "HEAD"))
	if err := c.WaitReady(ctx, 10*time.Minute, commit, allKSs(fr.Fleet, cs)...); err != nil {
		t.Fatalf("%v\ntransitions:\n%s", err, rec.Format())
	}
	if at, ok := rec.FirstReady(d.stageKS("app"), commit, committed); ok {
		t.Logf("COMMIT-TO-READY %s: commit to every stage Ready at the new revision: %s", d.ID(), at.Sub(committed).Round(100*time.Millisecond))
	}
	after := takeSnapshot(ctx, t, c, cs.Tenants...)

	cmName := "fleio-" + d.Name + "-backend-settings"
	cmKey := "ConfigMap " + d.Namespace + "/" + cmName
	expected := map[string]bool{cmKey: true}
	for k, e := range before {
		if e.Obj.GetKind() != "Deployment" || e.Obj.GetNamespace() != d.Namespace {
			continue
		}
		var dep appsv1.Deployment
		if err := harness.Scheme.Convert(e.Obj, &dep, nil); err != nil {
			t.Fatal(err)
		}
		if usesConfigMap(&dep.Spec.Template.Spec, cmName) {
			expected[k] = true
		}
	}
	added, removed, changed, recreated := diffSnapshots(before, after)
	var problems []string
	if len(added)+len(removed)+len(recreated) > 0 {
		problems = append(problems, fmt.Sprintf("added %v, removed %v, recreated %v", added, removed, recreated))
	}
	for _, k := range changed {
		if !expected[k] {
			problems = append(problems, fmt.Sprintf("%s changed: %s", k, fieldDiff(before[k].Content, after[k].Content)))
		}
	}
	for k := range expected {
		if !contains(changed, k) {
			problems = append(problems, fmt.Sprintf("%s did not change", k))
		}
	}
	if !strings.Contains(after[cmKey].Content, want) {
		problems = append(problems, cmKey+" does not carry "+want)
	}
	if len(problems) > 0 {
		t.Fatalf("settings change of %s:\n%s", d.ID(), strings.Join(problems, "\n"))
	}
	t.Logf("changed exactly: %v", changed)
}

func findDeploy(t testing.TB, f *fleetSpec, ns, name string) deploySpec {
	t.Helper()
	for _, d := range f.Deploys {
		if d.Namespace == ns && d.Name == name {
			return d
		}
	}
	t.Fatalf("the example fleet has no FleioDeployment %s/%s", ns, name)
	return deploySpec{}
}

// Scenario 5: bumping spec.version recreates the setup-database Job (with
// the pre-upgrade backup unless backupBeforeUpgrade: no) before every Deployment rolls
// to the new image tag.
func TestUpgrade(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	fr := newFleetRepo(t)
	cs := fr.Fleet.cluster(t, "staging")
	c, rec, _ := installed(ctx, t, fr, cs)
	d := findDeploy(t, fr.Fleet, "billing", "cloud")
	p := "fleio-" + d.Name
	var oldJob batchv1.Job
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: d.Namespace, Name: p + "-setup-database"}, &oldJob); err != nil {
		t.Fatal(err)
	}
	oldImages := deploymentImages(ctx, t, c, d)

	const from, to, toTag = "version: 2025.06.1", "version: 2025.07.0", "2025-07"
	fr.editSpec(t, "billing/fleio.yaml", from, to)
	committed := time.Now()
	commit := fr.rerender(t, "upgrade billing/cloud to 2025.07.0")
	if err := c.WaitReady(ctx, 10*time.Minute, commit, allKSs(fr.Fleet, cs)...); err != nil {
		t.Fatalf("%v\ntransitions:\n%s", err, rec.Format())
	}
	if at, ok := rec.FirstReady(d.stageKS("app"), commit, committed); ok {
		t.Logf("upgrade of %s: commit to every stage Ready %s", d.ID(), at.Sub(committed).Round(100*time.Millisecond))
	}

	var job batchv1.Job
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: d.Namespace, Name: p + "-setup-database"}, &job); err != nil {
		t.Fatal(err)
	}
	if job.UID == oldJob.UID {
		t.Fatalf("Job %s/%s-setup-database was not recreated (same uid %s)", d.Namespace, p, job.UID)
	}
	if job.Status.Succeeded == 0 || job.Status.CompletionTime == nil {
		t.Fatalf("new Job %s/%s-setup-database has not completed", d.Namespace, p)
	}
	for _, ctr := range append(append([]corev1.Container{}, job.Spec.Template.Spec.InitContainers...), job.Spec.Template.Spec.Containers...) {
		if !strings.Contains(ctr.Image, toTag) {
			t.Errorf("setup-database container %s runs %s, not the %s release", ctr.Name, ctr.Image, toTag)
		}
	}
	hasBackup := false
	for _, ic := range job.Spec.Template.Spec.InitContainers {
		if strings.Contains(ic.Name, "backup") {
			hasBackup = true
		}
	}
	if d.BackupFirst != hasBackup {
		t.Errorf("setup-database Job: backup before upgrade=%v but pre-upgrade backup init container present=%v", d.BackupFirst, hasBackup)
	}

	newImages := deploymentImages(ctx, t, c, d)
	if len(newImages) == 0 || len(newImages) != len(oldImages) {
		t.Fatalf("Deployments before %v, after %v", oldImages, newImages)
	}
	for name, img := range newImages {
		if img == oldImages[name] || !strings.Contains(img, toTag) {
			t.Errorf("Deployment %s/%s: image %s (was %s), want the %s release", d.Namespace, name, img, oldImages[name], toTag)
		}
		// It rolled after the database Job finished.
		var dep appsv1.Deployment
		if err := c.Client.Get(ctx, client.ObjectKey{Namespace: d.Namespace, Name: name}, &dep); err != nil {
			t.Fatal(err)
		}
		if applied := lastApply(&dep, "kustomize-controller"); applied.Before(job.Status.CompletionTime.Truncate(time.Second)) {
			t.Errorf("Deployment %s was updated at %s, before Job setup-database completed at %s", name, applied, job.Status.CompletionTime.Time)
		}
		if dep.Status.ObservedGeneration != dep.Generation || dep.Status.AvailableReplicas < ptrDeref(dep.Spec.Replicas) {
			t.Errorf("Deployment %s not rolled out: %+v", name, dep.Status)
		}
	}
}

func deploymentImages(ctx context.Context, t testing.TB, c *harness.Cluster, d deploySpec) map[string]string {
	t.Helper()
	var l appsv1.DeploymentList
	if err := c.Client.List(ctx, &l, client.InNamespace(d.Namespace)); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, dep := range l.Items {
		if strings.HasPrefix(dep.Name, "fleio-"+d.Name+"-") {
			var imgs []string
			for _, ctr := range dep.Spec.Template.Spec.Containers {
				imgs = append(imgs, ctr.Image)
			}
			out[dep.Name] = strings.Join(imgs, ",")
		}
	}
	return out
}

func lastApply(o metav1.Object, manager string) time.Time {
	var last time.Time
	for _, mf := range o.GetManagedFields() {
		if mf.Manager == manager && mf.Time != nil && mf.Time.After(last) {
			last = mf.Time.Time
		}
	}
	return last
}

// Scenario 6: removing a FleioDeployment from the specs prunes its
// Kustomizations, Deployments, Jobs, ConfigMaps (everything Flux applied for
// it) but keeps its PVCs and the deployment-keys Secret; the other
// deployments are untouched. fleiogen refuses a tenant namespace without a
// FleioDeployment, so when it was the namespace's only one the tenant is
// removed from the clusters too, as a user would have to.
func TestUninstall(t *testing.T) {
	for _, tc := range []struct{ name, specs, ns, deploy, file string }{
		// the namespace's only FleioDeployment: the tenant goes too
		{"examples", examplesDir(), "billing", "cloud", "billing/fleio.yaml"},
		// one of two in a namespace: the tenant, and every object of the
		// other, stay as they are
		{"variant", variantDir(), "alpha", "b", "alpha.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) { uninstall(t, tc.specs, tc.ns, tc.deploy, tc.file) })
	}
}

func uninstall(t *testing.T, specs, ns, name, file string) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	fr := newFleetRepoFrom(t, specs)
	cs := fr.Fleet.cluster(t, "staging")
	c, rec, _ := installed(ctx, t, fr, cs)
	d := findDeploy(t, fr.Fleet, ns, name)
	p := "fleio-" + d.Name
	before := takeSnapshot(ctx, t, c, cs.Tenants...)

	// Delete the FleioDeployment's document from the spec file.
	docs := strings.Split(readFile(t, fr.Specs+"/"+file), "\n---\n")
	kept := docs[:0]
	for _, doc := range docs {
		objs, err := harness.DecodeYAML([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(objs) == 1 && objs[0].GetKind() == "FleioDeployment" && objs[0].GetName() == name {
			continue
		}
		kept = append(kept, doc)
	}
	if len(kept) != len(docs)-1 {
		t.Fatalf("%s: no FleioDeployment %s document", file, name)
	}
	writeFile(t, fr.Specs+"/"+file, strings.Join(kept, "\n---\n"))
	removed := d.stageKSs()
	lastInNS := true
	for _, o := range fr.Fleet.Deploys {
		if o.Namespace == d.Namespace && o.Name != d.Name {
			lastInNS = false
		}
	}
	if lastInNS {
		fleet := readFile(t, fr.Specs+"/fleet.yaml")
		edited := strings.ReplaceAll(fleet, "tenants: [billing, hosting]", "tenants: [hosting]")
		if edited == fleet {
			t.Fatalf("fleet.yaml: could not remove tenant %s from the clusters", d.Namespace)
		}
		writeFile(t, fr.Specs+"/fleet.yaml", edited)
		removed = append(removed, harness.KS{Namespace: "flux-system", Name: "tenant-" + d.Namespace})
	}

	// What Flux must prune: everything in the removed Kustomizations'
	// inventories except objects marked prune: disabled.
	var mustGo, mustStay []string
	for _, k := range removed {
		s, err := c.KSStatus(ctx, k)
		if err != nil || !s.Exists {
			t.Fatalf("Kustomization %s before the uninstall: %v %s", k, err, s)
		}
		for _, id := range s.Inventory {
			u, err := objectFromID(id)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Client.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
				t.Fatalf("%s in the inventory of %s: %v", id, k, err)
			}
			if u.GetAnnotations()["kustomize.toolkit.fluxcd.io/prune"] == "disabled" {
				mustStay = append(mustStay, u.GetKind()+" "+strings.TrimPrefix(u.GetNamespace()+"/"+u.GetName(), "/"))
			} else {
				mustGo = append(mustGo, u.GetKind()+" "+strings.TrimPrefix(u.GetNamespace()+"/"+u.GetName(), "/"))
			}
		}
	}
	mustGo = append(mustGo, "ClusterIssuer "+p+"-acme-issuer")
	// The preflight Job's result ConfigMaps are in no inventory: they go
	// with the Job, their owner (kube-controller-manager's garbage
	// collector).
	for _, check := range []string{"database", "redis"} {
		k := "ConfigMap " + d.Namespace + "/" + p + "-preflight-" + check
		if _, ok := before[k]; !ok {
			t.Fatalf("%s is not there before the uninstall", k)
		}
		mustGo = append(mustGo, k)
	}
	for _, n := range []string{"-compiled-pvc", "-log-pvc", "-var-pvc", "-database-backups"} {
		mustStay = append(mustStay, "PersistentVolumeClaim "+d.Namespace+"/"+p+n)
	}
	mustStay = append(mustStay, "Secret "+d.Namespace+"/"+p+"-deployment-keys")
	slices.Sort(mustStay)
	mustStay = slices.Compact(mustStay)

	commit := fr.rerenderFor(t, cs, "uninstall "+d.ID())
	remaining := allKSs(fr.Fleet, fr.Fleet.cluster(t, "staging"))
	if err := c.WaitReady(ctx, 10*time.Minute, commit, remaining...); err != nil {
		t.Fatalf("%v\ntransitions:\n%s", err, rec.Format())
	}
	for _, k := range removed {
		if err := c.Poll(ctx, 5*time.Minute, "Kustomization "+k.String()+" deleted", func() (bool, string, error) {
			s, err := c.KSStatus(ctx, k)
			return !s.Exists, s.String(), err
		}); err != nil {
			t.Fatal(err)
		}
	}
	expectKSSet(ctx, t, c, remaining)

	var after snapshot
	err := c.Poll(ctx, 3*time.Minute, "pruning of "+d.ID(), func() (bool, string, error) {
		after = takeSnapshot(ctx, t, c, cs.Tenants...)
		var left []string
		for _, k := range mustGo {
			if _, ok := after[k]; ok {
				left = append(left, k)
			}
		}
		return len(left) == 0, fmt.Sprintf("still there: %v", left), nil
	})
	var problems []string
	if err != nil {
		problems = append(problems, err.Error())
	}
	for _, k := range mustStay {
		if _, ok := after[k]; !ok {
			problems = append(problems, k+" was deleted; it must be kept")
		} else if b, ok := before[k]; ok && after[k].UID != b.UID {
			problems = append(problems, k+" was recreated")
		}
	}
	// The other tenants' objects, and when the tenant stays the other
	// deployments' in its namespace, are untouched.
	for k, e := range before {
		if lastInNS && strings.Contains(k, " "+d.Namespace+"/") || strings.Contains(k, " "+d.Namespace+"/"+p+"-") || strings.HasSuffix(k, " "+d.Namespace+"/"+p) ||
			strings.HasSuffix(k, " "+p+"-acme-issuer") || e.Obj.GetKind() == "Kustomization" || e.Obj.GetKind() == "GitRepository" {
			continue
		}
		if a, ok := after[k]; !ok || a.UID != e.UID || a.Content != e.Content {
			problems = append(problems, k+" (not "+d.ID()+"'s) changed or disappeared")
		}
	}
	if len(problems) > 0 {
		t.Fatalf("uninstall of %s:\n%s", d.ID(), strings.Join(problems, "\n"))
	}
	t.Logf("uninstall of %s: pruned %d objects, kept %v", d.ID(), len(mustGo), mustStay)
}

// Scenario 8: a tenant's Kustomization that tries to create a cluster-scoped
// object, or to write into another tenant's namespace, is refused by the
// real apiserver's RBAC; the other tenants stay Ready.
func TestTenantLockdown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	fr := newFleetRepo(t)
	cs := fr.Fleet.cluster(t, "staging")
	c, rec, _ := installed(ctx, t, fr, cs)
	var attacker, victim deploySpec
	ds := fr.Fleet.deploysIn(cs)
	for _, d := range ds {
		if attacker.Name == "" {
			attacker = d
		} else if d.Namespace != attacker.Namespace && victim.Name == "" {
			victim = d
		}
	}
	if victim.Name == "" {
		t.Fatalf("cluster %s runs one tenant only; the lockdown scenario needs two", cs.Name)
	}
	stage := attacker.stageKS("license")
	dir := fmt.Sprintf("components/fleio/%s/%s/license", attacker.Namespace, attacker.Name)

	attempts := []struct {
		name, yaml string
		check      client.Object
	}{
		{"cluster-scoped ClusterRole", `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: e2e-tenant-escape
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: ["*"]
`, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "e2e-tenant-escape"}}},
		{"ConfigMap in the other tenant's namespace", fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: e2e-tenant-escape
  namespace: %s
data:
  owned: "yes"
`, victim.Namespace), &corev1.ConfigMap{ObjectMeta: metaName(victim.Namespace, "e2e-tenant-escape")}},
	}
	kustomization := readFile(t, fr.Repo.Dir+"/"+dir+"/kustomization.yaml")
	for _, a := range attempts {
		// A tenant commit (not made by fleiogen) adds the object to its stage.
		fr.Repo.WriteFile(dir+"/escape.yaml", a.yaml)
		var k map[string]any
		if err := yaml.Unmarshal([]byte(kustomization), &k); err != nil {
			t.Fatal(err)
		}
		res, ok := k["resources"].([]any)
		if !ok {
			t.Fatalf("%s/kustomization.yaml has no resources list to extend", dir)
		}
		k["resources"] = append(res, "escape.yaml")
		out, _ := yaml.Marshal(k)
		fr.Repo.WriteFile(dir+"/kustomization.yaml", string(out))
		commit := fr.Repo.CommitAll("tenant " + attacker.Namespace + " tries a " + a.name)
		err := c.Poll(ctx, 5*time.Minute, fmt.Sprintf("Kustomization %s refused with Forbidden at %s", stage, commit[:8]), func() (bool, string, error) {
			s, err := c.KSStatus(ctx, stage)
			if err != nil {
				return false, "", err
			}
			return s.Ready == metav1.ConditionFalse && strings.HasSuffix(s.LastAttempted, commit) &&
				strings.Contains(s.Message, "forbidden") &&
				strings.Contains(s.Message, "system:serviceaccount:"+attacker.Namespace+":flux"), s.String(), nil
		})
		if err != nil {
			t.Fatalf("%s: %v", a.name, err)
		}
		s, _ := c.KSStatus(ctx, stage)
		t.Logf("%s refused: %s", a.name, harnessTruncate(s.Message, 300))
		if err := c.Client.Get(ctx, client.ObjectKeyFromObject(a.check), a.check); err == nil {
			t.Fatalf("%s: %T %s/%s exists", a.name, a.check, a.check.GetNamespace(), a.check.GetName())
		}
		// The other tenant is Ready at the same commit.
		if err := c.WaitReady(ctx, 5*time.Minute, commit, victim.stageKSs()...); err != nil {
			t.Fatalf("%s: the other tenant: %v\ntransitions:\n%s", a.name, err, rec.Format())
		}
		// The attacker's earlier stages are unaffected.
		if err := c.WaitReady(ctx, 2*time.Minute, commit, attacker.stageKS("preflight"), attacker.stageKS("config"), attacker.stageKS("database")); err != nil {
			t.Fatalf("%s: %v", a.name, err)
		}
	}
}

func harnessTruncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
