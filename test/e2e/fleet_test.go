package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fleiogen/fleiogen/test/e2e/harness"
)

// Stages of a FleioDeployment, in dependsOn order (docs/tree.md).
var stages = []string{"preflight", "config", "database", "license", "app"}

// ---- the specs, read independently of the generator ----

type fleetSpec struct {
	RepoSecret string
	PullSecret string
	Clusters   []clusterSpec
	Deploys    []deploySpec
	conns      map[string]string // kind/ns/name -> credentialsSecret
}

type clusterSpec struct {
	Name, Environment, Branch, Domain string
	Tenants                           []string
	CertManager                       string
}

type deploySpec struct {
	Name, Namespace, Version string
	AdminSecret, LicenseKey  string
	DBSecret, RedisSecret    string
	Backups, Utils           bool
	BackupFirst              bool // a backup before the migrations (default on)
	PullSecrets              []string
}

// ID is "<namespace>/<name>".
func (d deploySpec) ID() string { return d.Namespace + "/" + d.Name }

func (d deploySpec) stageKS(stage string) harness.KS {
	return harness.KS{Namespace: d.Namespace, Name: "fleio-" + d.Name + "-" + stage}
}

func (d deploySpec) stageKSs() []harness.KS {
	var out []harness.KS
	for _, s := range stages {
		out = append(out, d.stageKS(s))
	}
	return out
}

func yes(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x == "yes" || x == "true" || x == "True"
	}
	return false
}

func str(m map[string]any, path ...string) string {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[p]
	}
	s, _ := cur.(string)
	return s
}

func loadFleet(t testing.TB, dir string) *fleetSpec {
	t.Helper()
	f := &fleetSpec{conns: map[string]string{}}
	var raw []map[string]any
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		objs, err := harness.DecodeYAML(b)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		for _, o := range objs {
			raw = append(raw, o.Object)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Objects without a namespace are in the Fleet's spec.defaultNamespace
	// (README), which the variant fleet uses.
	defaultNS := ""
	for _, o := range raw {
		if o["kind"] == "Fleet" {
			defaultNS = str(o, "spec", "defaultNamespace")
		}
	}
	for _, o := range raw {
		if md, ok := o["metadata"].(map[string]any); ok && str(o, "metadata", "namespace") == "" && o["kind"] != "Fleet" {
			md["namespace"] = defaultNS
		}
	}
	for _, o := range raw {
		ns := str(o, "metadata", "namespace")
		name := str(o, "metadata", "name")
		switch o["kind"] {
		case "Fleet":
			f.RepoSecret = str(o, "spec", "repository", "secretRef")
			f.PullSecret = str(o, "spec", "images", "pullSecret")
			cl, _ := o["spec"].(map[string]any)["clusters"].([]any)
			for _, c := range cl {
				cm := c.(map[string]any)
				cs := clusterSpec{Name: str(cm, "name"), Environment: str(cm, "environment"), Branch: str(cm, "branch"),
					Domain: str(cm, "domain"), CertManager: str(cm, "certManager")}
				ts, _ := cm["tenants"].([]any)
				for _, tn := range ts {
					cs.Tenants = append(cs.Tenants, tn.(string))
				}
				f.Clusters = append(f.Clusters, cs)
			}
		case "FleioDbConnection", "FleioRedisConnection":
			f.conns[o["kind"].(string)+"/"+ns+"/"+name] = str(o, "spec", "credentialsSecret")
		}
	}
	for _, o := range raw {
		if o["kind"] != "FleioDeployment" {
			continue
		}
		ns := str(o, "metadata", "namespace")
		d := deploySpec{Name: str(o, "metadata", "name"), Namespace: ns, Version: str(o, "spec", "version"),
			AdminSecret: str(o, "spec", "adminCredentialsSecret"), LicenseKey: str(o, "spec", "license", "keySecret"),
			DBSecret:    f.conns["FleioDbConnection/"+ns+"/"+str(o, "spec", "databaseConnection")],
			RedisSecret: f.conns["FleioRedisConnection/"+ns+"/"+str(o, "spec", "redisConnection")]}
		if d.LicenseKey == "" {
			d.LicenseKey = "fleio-" + d.Name + "-license" // fleiogen's default (README)
		}
		spec := o["spec"].(map[string]any)
		d.Backups = yes(spec["enableBackups"])
		d.BackupFirst = spec["backupBeforeUpgrade"] == nil || yes(spec["backupBeforeUpgrade"])
		if adv, ok := spec["advanced"].(map[string]any); ok {
			d.Utils = yes(adv["deployUtilsContainer"])
			if ovr, ok := adv["deploymentsOverrides"].(map[string]any); ok {
				for _, v := range ovr {
					if s := str(v.(map[string]any), "imagePullSecret"); s != "" {
						d.PullSecrets = append(d.PullSecrets, s)
					}
				}
			}
		}
		if f.PullSecret != "" {
			d.PullSecrets = append(d.PullSecrets, f.PullSecret)
		}
		f.Deploys = append(f.Deploys, d)
	}
	sort.Slice(f.Deploys, func(i, j int) bool { return f.Deploys[i].ID() < f.Deploys[j].ID() })
	if len(f.Clusters) == 0 || len(f.Deploys) == 0 {
		t.Fatalf("specs in %s: found %d clusters and %d FleioDeployments; the scenarios need both", dir, len(f.Clusters), len(f.Deploys))
	}
	return f
}

func (f *fleetSpec) cluster(t testing.TB, env string) clusterSpec {
	t.Helper()
	for _, c := range f.Clusters {
		if c.Environment == env {
			return c
		}
	}
	t.Fatalf("the example fleet has no %s cluster", env)
	return clusterSpec{}
}

func (f *fleetSpec) deploysIn(c clusterSpec) []deploySpec {
	var out []deploySpec
	for _, d := range f.Deploys {
		for _, tn := range c.Tenants {
			if d.Namespace == tn {
				out = append(out, d)
			}
		}
	}
	return out
}

// ---- fleiogen ----

var (
	fleiogenOnce sync.Once
	fleiogenBin  string
	fleiogenErr  error
)

// fleiogen builds the CLI from the repository once per test run.
func fleiogen(t testing.TB) string {
	t.Helper()
	fleiogenOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fleiogen-e2e-cli-")
		if err != nil {
			fleiogenErr = err
			return
		}
		fleiogenBin = filepath.Join(dir, "fleiogen")
		cmd := exec.Command("go", "build", "-o", fleiogenBin, "./cmd/fleiogen")
		cmd.Dir = harness.RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			fleiogenErr = fmt.Errorf("go build ./cmd/fleiogen: %v\n%s", err, out)
		}
	})
	if fleiogenErr != nil {
		t.Fatal(fleiogenErr)
	}
	return fleiogenBin
}

// render runs `fleiogen render <specs> -o <out>`.
func render(t testing.TB, specs, out string) {
	t.Helper()
	cmd := exec.Command(fleiogen(t), "render", specs, "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fleiogen render %s -o %s: %v\n%s", specs, out, err, b)
	}
}

// examplesDir is the example fleet the scenarios run: examples/fleet, or
// $E2E_SPECS (a directory laid out the same way) when set.
func examplesDir() string {
	if d := os.Getenv("E2E_SPECS"); d != "" {
		return d
	}
	return filepath.Join(harness.RepoRoot(), "examples", "fleet")
}

// fleetRepo is the fleet repository of a scenario: a copy of the example
// specs (which scenarios edit) and a git repository with the rendered tree
// and flux bootstrap's files for every cluster, committed on main.
type fleetRepo struct {
	Specs string
	Repo  *harness.Repo
	Fleet *fleetSpec
}

func newFleetRepo(t testing.TB) *fleetRepo {
	t.Helper()
	return newFleetRepoFrom(t, examplesDir())
}

// variantDir is testdata/variant, a second fleet unlike the examples (its
// fleet.yaml says how), for the scenarios that run both.
func variantDir() string {
	return filepath.Join(harness.RepoRoot(), "test", "e2e", "testdata", "variant")
}

// specSets are the spec directories the install scenarios run, in order:
// the examples and the variant fleet.
func specSets() []struct{ Name, Dir string } {
	return []struct{ Name, Dir string }{{"examples", examplesDir()}, {"variant", variantDir()}}
}

// newFleetRepoFrom is newFleetRepo for the specs in dir.
func newFleetRepoFrom(t testing.TB, dir string) *fleetRepo {
	t.Helper()
	specs := filepath.Join(t.TempDir(), "specs")
	copyTree(t, dir, specs)
	fr := &fleetRepo{Specs: specs, Repo: harness.NewRepo(t), Fleet: loadFleet(t, specs)}
	for _, c := range fr.Fleet.Clusters {
		// Each cluster is bootstrapped from the branch it tracks (README:
		// Bootstrap), so all it applies comes from that branch. flux
		// bootstrap commits to that branch; here every branch starts as
		// main, so the files are committed once, on main.
		harness.WriteBootstrap(fr.Repo, "clusters/"+c.Name, c.Branch)
	}
	fr.Repo.CommitAll("flux bootstrap")
	render(t, specs, fr.Repo.Dir)
	fr.Repo.CommitAll("fleiogen render")
	for _, c := range fr.Fleet.Clusters {
		if c.Branch != "main" && fr.Repo.Git("branch", "--list", c.Branch) == "" {
			fr.Repo.Git("branch", c.Branch, "main")
		}
	}
	for _, c := range fr.Fleet.Clusters {
		if _, err := os.Stat(filepath.Join(fr.Repo.Dir, "clusters", c.Name, "flux-system", "gotk-sync.yaml")); err != nil {
			t.Fatalf("fleiogen render removed flux bootstrap's clusters/%s/flux-system/gotk-sync.yaml: %v", c.Name, err)
		}
	}
	return fr
}

// rerender renders the (edited) specs again and commits on the current branch.
func (fr *fleetRepo) rerender(t testing.TB, msg string) string {
	t.Helper()
	fr.Fleet = loadFleet(t, fr.Specs)
	render(t, fr.Specs, fr.Repo.Dir)
	return fr.Repo.CommitAll(msg)
}

// rerenderFor is rerender for a scenario on cluster cs: when cs tracks a
// branch other than main (the variant's staging tracks release/main), that
// branch is moved to the new commit too, as a merge into it would.
func (fr *fleetRepo) rerenderFor(t testing.TB, cs clusterSpec, msg string) string {
	t.Helper()
	commit := fr.rerender(t, msg)
	if cs.Branch != "main" {
		fr.Repo.Git("branch", "-f", cs.Branch, commit)
	}
	return commit
}

// editSpec replaces old with new in a spec file (relative to the specs dir);
// old must occur exactly once.
func (fr *fleetRepo) editSpec(t testing.TB, rel, old, new string) {
	t.Helper()
	p := filepath.Join(fr.Specs, rel)
	s := readFile(t, p)
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("spec %s: %q occurs %d times, want 1", rel, old, n)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(s, old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ---- what an operator creates by hand, and what the jobs would do ----

func basicAuth(ns, name string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: corev1.SecretTypeBasicAuth,
		StringData: map[string]string{"username": "fleio", "password": "e2e-password"}}
}

// operatorSecrets are the Secrets the platform team creates before Flux
// reconciles a tenant (nothing in git holds them): database, Redis and admin
// credentials, the license key, image pull secrets and the fleet's git
// credentials. skip names Secrets to leave out ("ns/name").
func operatorSecrets(f *fleetSpec, c clusterSpec, skip ...string) []*corev1.Secret {
	skipped := map[string]bool{}
	for _, s := range skip {
		skipped[s] = true
	}
	var out []*corev1.Secret
	seen := map[string]bool{}
	add := func(s *corev1.Secret) {
		id := s.Namespace + "/" + s.Name
		if s.Name == "" || seen[id] || skipped[id] {
			return
		}
		seen[id] = true
		out = append(out, s)
	}
	for _, tn := range c.Tenants {
		if f.RepoSecret != "" {
			add(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tn, Name: f.RepoSecret},
				StringData: map[string]string{"username": "git", "password": "e2e-token"}})
		}
	}
	for _, d := range f.deploysIn(c) {
		add(basicAuth(d.Namespace, d.DBSecret))
		add(basicAuth(d.Namespace, d.RedisSecret))
		add(basicAuth(d.Namespace, d.AdminSecret))
		if d.LicenseKey != "" {
			add(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: d.Namespace, Name: d.LicenseKey},
				StringData: map[string]string{"key": "e2e-license-key"}})
		}
		for _, ps := range d.PullSecrets {
			add(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: d.Namespace, Name: ps}, Type: corev1.SecretTypeDockerConfigJson,
				StringData: map[string]string{".dockerconfigjson": `{"auths":{}}`}})
		}
	}
	return out
}

// createOperatorSecrets creates the tenant namespaces (Flux adopts them
// later) and the operator's Secrets.
func createOperatorSecrets(ctx context.Context, t testing.TB, c *harness.Cluster, secrets []*corev1.Secret) {
	t.Helper()
	for _, s := range secrets {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.Namespace}}
		if err := c.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		if err := c.Client.Create(ctx, s.DeepCopy()); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("create Secret %s/%s: %v", s.Namespace, s.Name, err)
		}
	}
}

func envValue(job *batchv1.Job, name string) string {
	for _, ctr := range job.Spec.Template.Spec.Containers {
		for _, e := range ctr.Env {
			if e.Name == name {
				return e.Value
			}
		}
	}
	return ""
}

// downServers holds the preflight checks the stand-in fails as if the
// server were down: "<cluster>/<namespace>/<result ConfigMap>" (the
// RESULT_DATABASE or RESULT_REDIS of a preflight Job).
var downServers sync.Map

// setServerDown makes the preflight check that records result (a
// ConfigMap name) fail on the cluster named cluster, or pass again.
func setServerDown(cluster, namespace, result string, down bool) {
	key := cluster + "/" + namespace + "/" + result
	if down {
		downServers.Store(key, true)
	} else {
		downServers.Delete(key)
	}
}

// recordPreflight creates (or replaces) the ConfigMap name owned by the
// preflight Job when passed, and deletes it otherwise, as the script does.
// asJobAccount is a client that acts as the ServiceAccount a Job's pods
// run as, as the Job's script would.
func asJobAccount(c *harness.Cluster, job *batchv1.Job) (client.Client, error) {
	sa := job.Spec.Template.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	cfg := rest.CopyConfig(c.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + job.Namespace + ":" + sa,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + job.Namespace, "system:authenticated"}}
	return client.New(cfg, client.Options{Scheme: c.Client.Scheme(), Mapper: c.Client.RESTMapper()})
}

func recordPreflight(c *harness.Cluster, job *batchv1.Job, name string, passed bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// As the script would: with the Job's own ServiceAccount, so that the
	// API server checks the rendered Role.
	cl, err := asJobAccount(c, job)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: job.Namespace, Name: name}}
	if !passed {
		if err := cl.Delete(ctx, cm); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting ConfigMap %s: %w", name, err)
		}
		return nil
	}
	cm.Labels = map[string]string{"app.kubernetes.io/managed-by": "fleiogen", "app.kubernetes.io/component": "preflight"}
	cm.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID}}
	cm.Data = map[string]string{"result": "played by the e2e stand-in"}
	err = cl.Create(ctx, cm)
	if apierrors.IsAlreadyExists(err) {
		err = cl.Update(ctx, cm)
	}
	if err != nil {
		return fmt.Errorf("recording ConfigMap %s: %w", name, err)
	}
	return nil
}

// fleioPolicy makes the workload stand-in behave like the rendered jobs'
// scripts would:
//   - a preflight Job's pod keeps running (Hold) while a Secret or key it
//     lists in its REQUIRED_SECRET_* variables (files of optional Secret
//     volumes) is missing or empty (unless _EMPTY_OK), or a server is down (setServerDown), and
//     succeeds otherwise (the stand-in cannot reach
//     MariaDB or Redis: their checks pass unless set down). Like the
//     script, it records each check that passed (RESULT_DATABASE,
//     RESULT_REDIS) in a ConfigMap owned by the Job and deletes the
//     ConfigMap of each that failed;
//   - a deployment-keys Job, on completion, creates the Secret named by its
//     SECRET_NAME variable (keys secretKey and ssoSalt) unless it exists,
//     not owned by anything, and labels it, as the script's kubectl calls
//     would.
//
// Both act as the Job's ServiceAccount (impersonated), so the API server
// checks every call against the Role fleiogen renders for the Job.
func fleioPolicy(c *harness.Cluster) harness.WorkloadPolicy {
	return harness.WorkloadPolicy{
		JobOutcome: func(job *batchv1.Job) (harness.Outcome, string) {
			if job.Labels["app.kubernetes.io/component"] != "preflight" && !strings.HasSuffix(job.Name, "-preflight") {
				return harness.Succeed, ""
			}
			var missing []string
			for _, ctr := range job.Spec.Template.Spec.Containers {
				for _, e := range ctr.Env {
					// REQUIRED_SECRET_<n> is a file of an optional Secret
					// volume: <mount>/<secret>/<key>.
					if !regexp.MustCompile(`^REQUIRED_SECRET_\d+$`).MatchString(e.Name) {
						continue
					}
					secret, key := filepath.Base(filepath.Dir(e.Value)), filepath.Base(e.Value)
					var s corev1.Secret
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					err := c.Client.Get(ctx, client.ObjectKey{Namespace: job.Namespace, Name: secret}, &s)
					cancel()
					// The key must be there, and hold a value unless
					// REQUIRED_SECRET_<n>_EMPTY_OK is set, as in the script.
					value, ok := s.Data[key]
					if err != nil || !ok || (len(value) == 0 && envValue(job, e.Name+"_EMPTY_OK") == "") {
						missing = append(missing, fmt.Sprintf("Secret %s/%s key %s", job.Namespace, secret, key))
					}
				}
			}
			var problems []string
			if len(missing) > 0 {
				problems = append(problems, "missing "+strings.Join(missing, ", "))
			}
			for _, check := range []struct{ result, server string }{{"RESULT_DATABASE", "DB_HOST"}, {"RESULT_REDIS", "REDIS_HOST"}} {
				name := envValue(job, check.result)
				if name == "" {
					problems = append(problems, "no "+check.result+" in the Job")
					continue
				}
				_, down := downServers.Load(c.Name + "/" + job.Namespace + "/" + name)
				if down {
					problems = append(problems, fmt.Sprintf("%s: server down (set by the scenario)", envValue(job, check.server)))
				}
				if err := recordPreflight(c, job, name, !down); err != nil {
					problems = append(problems, err.Error())
				}
			}
			if len(problems) > 0 {
				// The script checks again until everything passes: its pod
				// keeps running and the Job stays active.
				return harness.Hold, "preflight: " + strings.Join(problems, "; ")
			}
			return harness.Succeed, ""
		},
		OnJobComplete: func(ctx context.Context, cl client.Client, job *batchv1.Job) error {
			name := envValue(job, "SECRET_NAME")
			if !strings.HasSuffix(job.Name, "-deployment-keys") || name == "" {
				return nil
			}
			// The script's calls (get, create when missing, label), with the
			// Job's ServiceAccount, so that the API server checks its Role.
			cl, err := asJobAccount(c, job)
			if err != nil {
				return err
			}
			key := client.ObjectKey{Namespace: job.Namespace, Name: name}
			s := &corev1.Secret{}
			if err := cl.Get(ctx, key, s); apierrors.IsNotFound(err) {
				s = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: job.Namespace, Name: name},
					StringData: map[string]string{"secretKey": "e2e-secret-key", "ssoSalt": "e2e-sso-salt"}}
				if err := cl.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
					return fmt.Errorf("as the keys Job's account: create Secret %s: %w", name, err)
				}
			} else if err != nil {
				return fmt.Errorf("as the keys Job's account: get Secret %s: %w", name, err)
			} else {
				return nil // kept as it is
			}
			if err := cl.Get(ctx, key, s); err != nil {
				return fmt.Errorf("as the keys Job's account: get Secret %s: %w", name, err)
			}
			before := s.DeepCopy()
			if s.Labels == nil {
				s.Labels = map[string]string{}
			}
			s.Labels["app.kubernetes.io/managed-by"] = "fleiogen"
			s.Labels["app.kubernetes.io/instance"] = envValue(job, "INSTANCE")
			if err := cl.Patch(ctx, s, client.MergeFrom(before)); err != nil {
				return fmt.Errorf("as the keys Job's account: label Secret %s: %w", name, err)
			}
			return nil
		},
	}
}

// ---- bringing a cluster up on the fleet ----

// fleioCluster starts a cluster for spec cluster cs reading the fleet repo,
// creates the operator's Secrets (minus skip) and bootstraps Flux on
// clusters/<name>.
func fleioCluster(ctx context.Context, t *testing.T, fr *fleetRepo, cs clusterSpec, skip ...string) (*harness.Cluster, *harness.Recorder) {
	t.Helper()
	c := harness.Start(t, bins, harness.Options{Name: cs.Name, Repo: fr.Repo.Dir, HelmNoCrossNamespaceRefs: true, HelmDefaultServiceAccount: "default"})
	c.Workloads.SetPolicy(fleioPolicy(c))
	rec, err := c.Record(ctx)
	if err != nil {
		t.Fatal(err)
	}
	createOperatorSecrets(ctx, t, c, operatorSecrets(fr.Fleet, cs, skip...))
	if err := c.Bootstrap(ctx, "clusters/"+cs.Name, cs.Branch); err != nil {
		t.Fatal(err)
	}
	return c, rec
}

// platformKSs are the cluster-level Kustomizations of cluster cs.
func platformKSs(cs clusterSpec) []harness.KS {
	out := []harness.KS{{Namespace: "flux-system", Name: "flux-system"}}
	if cs.CertManager != "existing" {
		out = append(out, harness.KS{Namespace: "flux-system", Name: "platform-cert-manager"})
	}
	out = append(out, harness.KS{Namespace: "flux-system", Name: "platform-issuers"})
	for _, tn := range cs.Tenants {
		out = append(out, harness.KS{Namespace: "flux-system", Name: "tenant-" + tn})
	}
	return out
}

// allKSs are every Kustomization cluster cs should have for fleet f.
func allKSs(f *fleetSpec, cs clusterSpec) []harness.KS {
	out := platformKSs(cs)
	for _, d := range f.deploysIn(cs) {
		out = append(out, d.stageKSs()...)
	}
	return out
}

// expectKSSet fails unless the cluster's Kustomizations are exactly want.
func expectKSSet(ctx context.Context, t testing.TB, c *harness.Cluster, want []harness.KS) {
	t.Helper()
	items, err := c.ListKustomizations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	have := map[harness.KS]bool{}
	for _, k := range items {
		have[harness.KS{Namespace: k.Namespace, Name: k.Name}] = true
	}
	var missing, extra []string
	for _, k := range want {
		if !have[k] {
			missing = append(missing, k.String())
		}
		delete(have, k)
	}
	for k := range have {
		extra = append(extra, k.String())
	}
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Fatalf("Kustomizations on cluster %s: missing %v, unexpected %v", c.Name, missing, extra)
	}
}
