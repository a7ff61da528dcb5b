package generator

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/envsubst"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/kustomize/api/krusty"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite golden files (and the committed example tree) from the current output")

// repoRoot is where the committed example tree lives.
const repoRoot = ".."

func renderDir(t *testing.T, dir string) (*Model, []File) {
	t.Helper()
	specs, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("loading %s: %v", dir, err)
	}
	m, err := Validate(specs)
	if err != nil {
		t.Fatalf("validating %s:\n%v", dir, err)
	}
	files, err := Render(m)
	if err != nil {
		t.Fatalf("rendering %s: %v", dir, err)
	}
	return m, files
}

// goldenCases are spec directories under testdata/specs whose rendered
// trees are kept under testdata/golden.
func goldenCases(t *testing.T) []string {
	entries, err := os.ReadDir("testdata/specs")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// readTree reads every file under the managed directories of root.
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, top := range ManagedDirs {
		base := filepath.Join(root, top)
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) && p == base {
					return fs.SkipDir
				}
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if d.IsDir() {
				if isBootstrapPath(filepath.ToSlash(rel)) {
					return fs.SkipDir
				}
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = string(data)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func filesMap(files []File) map[string]string {
	out := map[string]string{}
	for _, f := range files {
		out[f.Path] = string(f.Data)
	}
	return out
}

// TestGolden compares each testdata/specs case with testdata/golden.
func TestGolden(t *testing.T) {
	for _, name := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			_, files := renderDir(t, filepath.Join("testdata/specs", name))
			golden := filepath.Join("testdata/golden", name)
			if *update {
				if _, err := Write(golden, files); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(readTree(t, golden), filesMap(files)); diff != "" {
				t.Errorf("rendered tree differs from %s (-want +got); run go test ./generator -update:\n%s", golden, diff)
			}
		})
	}
}

// TestCommittedTreeIsFresh checks that the committed clusters/, tenants/ and
// components/ equal a fresh render of examples/fleet (make render).
func TestCommittedTreeIsFresh(t *testing.T) {
	_, files := renderDir(t, filepath.Join(repoRoot, "examples/fleet"))
	if *update {
		if _, err := Write(repoRoot, files); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(readTree(t, repoRoot), filesMap(files)); diff != "" {
		t.Errorf("the committed tree is stale (-committed +fresh); run make render:\n%s", diff)
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	_, a := renderDir(t, filepath.Join(repoRoot, "examples/fleet"))
	for i := 0; i < 5; i++ {
		_, b := renderDir(t, filepath.Join(repoRoot, "examples/fleet"))
		if diff := cmp.Diff(filesMap(a), filesMap(b)); diff != "" {
			t.Fatalf("render %d differs from the first (-first +this):\n%s", i+2, diff)
		}
	}
}

// allTrees renders the examples and every golden case.
func allTrees(t *testing.T) map[string]struct {
	m     *Model
	files []File
} {
	out := map[string]struct {
		m     *Model
		files []File
	}{}
	m, files := renderDir(t, filepath.Join(repoRoot, "examples/fleet"))
	out["examples"] = struct {
		m     *Model
		files []File
	}{m, files}
	for _, name := range goldenCases(t) {
		m, files := renderDir(t, filepath.Join("testdata/specs", name))
		out[name] = struct {
			m     *Model
			files []File
		}{m, files}
	}
	// The real-cluster scenarios' second fleet, unlike the examples
	// wherever the specs allow (its fleet.yaml says how).
	m, files = renderDir(t, filepath.Join(repoRoot, "test/e2e/testdata/variant"))
	out["variant"] = struct {
		m     *Model
		files []File
	}{m, files}
	return out
}

func TestEveryFileHasTheHeader(t *testing.T) {
	for name, tree := range allTrees(t) {
		for _, f := range tree.files {
			if !IsGenerated(f.Data) {
				t.Errorf("%s: %s does not start with the generated header", name, f.Path)
			}
			if !bytes.HasSuffix(f.Data, []byte("\n")) || bytes.HasSuffix(f.Data, []byte("\n\n")) {
				t.Errorf("%s: %s must end with exactly one newline", name, f.Path)
			}
		}
	}
}

// memFS loads rendered files into kustomize's in-memory file system.
func memFS(t *testing.T, files []File) filesys.FileSystem {
	fSys := filesys.MakeFsInMemory()
	for _, f := range files {
		if err := fSys.WriteFile("/"+f.Path, f.Data); err != nil {
			t.Fatal(err)
		}
	}
	return fSys
}

// buildAll builds every directory with a kustomization.yaml, as
// kustomize-controller would, and returns the YAML of each.
func buildAll(t *testing.T, files []File) map[string][]byte {
	t.Helper()
	fSys := memFS(t, files)
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = kusttypes.LoadRestrictionsNone
	k := krusty.MakeKustomizer(opts)
	out := map[string][]byte{}
	for _, f := range files {
		if filepath.Base(f.Path) != "kustomization.yaml" {
			continue
		}
		dir := "/" + filepath.Dir(f.Path)
		res, err := k.Run(fSys, dir)
		if err != nil {
			t.Errorf("kustomize build %s: %v", dir, err)
			continue
		}
		y, err := res.AsYaml()
		if err != nil {
			t.Errorf("kustomize build %s: %v", dir, err)
			continue
		}
		out[dir] = y
	}
	return out
}

func TestEveryKustomizationBuilds(t *testing.T) {
	for name, tree := range allTrees(t) {
		t.Run(name, func(t *testing.T) {
			built := buildAll(t, tree.files)
			if len(built) == 0 {
				t.Fatal("no kustomization.yaml rendered")
			}
			// Every Flux Kustomization path (with ${ENVIRONMENT} filled in
			// for each environment in use) must be a directory that builds.
			for _, c := range tree.m.Clusters {
				for _, p := range fluxPaths(t, tree.files, c) {
					if _, ok := built["/"+strings.TrimPrefix(p, "./")]; !ok {
						t.Errorf("cluster %s: Flux Kustomization path %s has no kustomization.yaml that builds", c.Name, p)
					}
				}
			}
		})
	}
}

// fluxPaths lists the spec.path of every Flux Kustomization in the tree
// that cluster c applies, substituted with its runtime values.
func fluxPaths(t *testing.T, files []File, c *ClusterModel) []string {
	var out []string
	for _, f := range files {
		if !strings.HasPrefix(f.Path, "clusters/"+c.Name+"/") && !inTenants(f.Path, c) {
			continue
		}
		for _, doc := range splitDocs(f.Data) {
			var ks kustomizev1.Kustomization
			if err := yaml.Unmarshal(doc, &ks); err != nil || ks.APIVersion != kustomizev1.GroupVersion.String() {
				continue
			}
			p, err := envsubst.Eval(ks.Spec.Path, varsOf(c))
			if err != nil {
				t.Errorf("%s: %v", f.Path, err)
			}
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func inTenants(p string, c *ClusterModel) bool {
	for _, ns := range c.Tenants {
		if strings.HasPrefix(p, "tenants/"+ns+"/") {
			return true
		}
	}
	return false
}

func varsOf(c *ClusterModel) func(string) (string, bool) {
	vars := RuntimeValues(c)
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func splitDocs(data []byte) [][]byte {
	var out [][]byte
	for _, d := range bytes.Split(data, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			out = append(out, d)
		}
	}
	return out
}

// TestSubstitutionResolvesEverything substitutes each cluster's runtime-info
// into everything it builds, strictly as kustomize-controller does (an
// undefined variable is an error), and checks that no "${" is left.
func TestSubstitutionResolvesEverything(t *testing.T) {
	for name, tree := range allTrees(t) {
		t.Run(name, func(t *testing.T) {
			built := buildAll(t, tree.files)
			for _, c := range tree.m.Clusters {
				for dir, y := range built {
					for _, doc := range splitDocs(y) {
						if bytes.Contains(doc, []byte(substituteAnnotation+": disabled")) {
							// Flux leaves its text as is: a literal ${...}
							// of the user's (the variant's license command)
							// stays, but a runtime-info variable would not
							// be substituted.
							for k := range RuntimeValues(c) {
								if bytes.Contains(doc, []byte("${"+k)) {
									t.Errorf("cluster %s, %s: an object with substitution disabled holds ${%s}, which Flux would leave as is:\n%s", c.Name, dir, k, doc)
								}
							}
							continue
						}
						out, err := envsubst.Eval(string(doc), func(k string) (string, bool) {
							v, ok := RuntimeValues(c)[k]
							if !ok {
								t.Errorf("cluster %s, %s: variable %s is not in flux-runtime-info", c.Name, dir, k)
							}
							return v, ok
						})
						if err != nil {
							t.Errorf("cluster %s, %s: substitution failed: %v", c.Name, dir, err)
							continue
						}
						// A "${" may remain only where the user wrote one, which
						// fleiogen escaped as "$${".
						if got, escaped := strings.Count(out, "${"), strings.Count(string(doc), "$${"); got != escaped {
							t.Errorf("cluster %s, %s: %d unresolved ${ after substitution (%d escaped on purpose):\n%s", c.Name, dir, got, escaped, out)
						}
					}
				}
			}
		})
	}
}

// TestLiteralDollarsSurviveFlux checks that user text with "$" reaches the
// cluster unchanged after kustomize-controller's substitution.
func TestLiteralDollarsSurviveFlux(t *testing.T) {
	m, files := renderDir(t, "testdata/specs/minimal")
	built := buildAll(t, files)
	y := built["/components/fleio/fleio/prod/config/production"]
	out, err := envsubst.Eval(string(y), varsOf(m.Clusters[0]))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`EMAIL_SUBJECT_PREFIX = '[${HOSTNAME}] costs $5 '`,
		`"currencyFormat": "${amount} $",`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("after substitution the settings lack %s:\n%s", want, out)
		}
	}

	// The Fleet's ACME settings reach the ClusterIssuers, which
	// platform-issuers substitutes, as written.
	fleet := strings.Replace(validFleet, "email: ops@example.com", `email: "ops${X}$$y@example.com"`+"\n        server: https://acme.example.com/dir${P}", 1)
	dir := t.TempDir()
	for name, data := range map[string]string{"fleet.yaml": fleet, "billing.yaml": validBilling} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, files = renderDir(t, dir)
	y = buildAll(t, files)["/components/platform/issuers/staging"]
	out, err = envsubst.Eval(string(y), varsOf(m.Clusters[0]))
	if err != nil {
		t.Fatalf("substituting the issuers: %v", err)
	}
	for _, want := range []string{"email: ops${X}$$y@example.com", "server: https://acme.example.com/dir${P}"} {
		if !strings.Contains(out, want) {
			t.Errorf("after substitution the ClusterIssuer lacks %s:\n%s", want, out)
		}
	}
}

// typed maps apiVersion/kind to the Go type the object must decode into.
var typed = map[string]func() any{
	"v1/ConfigMap":                             func() any { return &corev1.ConfigMap{} },
	"v1/Namespace":                             func() any { return &corev1.Namespace{} },
	"v1/ServiceAccount":                        func() any { return &corev1.ServiceAccount{} },
	"v1/Service":                               func() any { return &corev1.Service{} },
	"v1/PersistentVolumeClaim":                 func() any { return &corev1.PersistentVolumeClaim{} },
	"rbac.authorization.k8s.io/v1/Role":        func() any { return &rbacv1.Role{} },
	"rbac.authorization.k8s.io/v1/RoleBinding": func() any { return &rbacv1.RoleBinding{} },
	"apps/v1/Deployment":                       func() any { return &appsv1.Deployment{} },
	"batch/v1/Job":                             func() any { return &batchv1.Job{} },
	"batch/v1/CronJob":                         func() any { return &batchv1.CronJob{} },
	"networking.k8s.io/v1/Ingress":             func() any { return &networkingv1.Ingress{} },
	kustomizev1.GroupVersion.String() + "/Kustomization": func() any { return &kustomizev1.Kustomization{} },
	sourcev1.GroupVersion.String() + "/GitRepository":    func() any { return &sourcev1.GitRepository{} },
	sourcev1.GroupVersion.String() + "/HelmRepository":   func() any { return &sourcev1.HelmRepository{} },
	helmv2.GroupVersion.String() + "/HelmRelease":        func() any { return &helmv2.HelmRelease{} },
	cmv1.SchemeGroupVersion.String() + "/Certificate":    func() any { return &cmv1.Certificate{} },
	cmv1.SchemeGroupVersion.String() + "/ClusterIssuer":  func() any { return &cmv1.ClusterIssuer{} },
}

// TestObjectsDecodeStrictly decodes every rendered object and every
// kustomization.yaml into its typed Go struct, refusing unknown fields.
func TestObjectsDecodeStrictly(t *testing.T) {
	for name, tree := range allTrees(t) {
		t.Run(name, func(t *testing.T) {
			for _, f := range tree.files {
				if !strings.HasSuffix(f.Path, ".yaml") {
					continue
				}
				for i, doc := range splitDocs(f.Data) {
					if filepath.Base(f.Path) == "kustomization.yaml" {
						if err := yaml.UnmarshalStrict(doc, &kusttypes.Kustomization{}); err != nil {
							t.Errorf("%s: %v", f.Path, err)
						}
						continue
					}
					var tm struct{ APIVersion, Kind string }
					if err := yaml.Unmarshal(doc, &tm); err != nil {
						t.Errorf("%s document %d: %v", f.Path, i, err)
						continue
					}
					mk, ok := typed[tm.APIVersion+"/"+tm.Kind]
					if !ok {
						t.Errorf("%s document %d: no typed struct known for %s %s", f.Path, i, tm.APIVersion, tm.Kind)
						continue
					}
					if err := yaml.UnmarshalStrict(doc, mk()); err != nil {
						t.Errorf("%s document %d (%s): %v", f.Path, i, tm.Kind, err)
					}
				}
			}
		})
	}
}

// TestNoSecretsInTree checks that the tree holds no Secret object and that
// no value of the specs' Secrets could have leaked: every credential is a
// secretKeyRef.
func TestNoSecretsInTree(t *testing.T) {
	for name, tree := range allTrees(t) {
		for _, f := range tree.files {
			for _, doc := range splitDocs(f.Data) {
				var tm struct{ Kind string }
				_ = yaml.Unmarshal(doc, &tm)
				if tm.Kind == "Secret" {
					t.Errorf("%s: %s holds a Secret", name, f.Path)
				}
			}
		}
		for _, f := range tree.files {
			for _, doc := range splitDocs(f.Data) {
				var obj struct {
					Kind string
					Spec struct {
						Template struct {
							Spec corev1.PodSpec
						}
						JobTemplate struct {
							Spec struct{ Template struct{ Spec corev1.PodSpec } }
						}
					}
				}
				if yaml.Unmarshal(doc, &obj) != nil {
					continue
				}
				for _, ps := range []corev1.PodSpec{obj.Spec.Template.Spec, obj.Spec.JobTemplate.Spec.Template.Spec} {
					for _, c := range append(ps.InitContainers, ps.Containers...) {
						// A *_FILE variable names a file a Secret volume holds.
						secretDirs := map[string]bool{}
						for _, vm := range c.VolumeMounts {
							for _, v := range ps.Volumes {
								if v.Name == vm.Name && v.Secret != nil {
									secretDirs[vm.MountPath] = true
								}
							}
						}
						for _, e := range c.Env {
							secretish := strings.Contains(e.Name, "PASSWORD") || strings.Contains(e.Name, "SECRET_KEY") || strings.Contains(e.Name, "SALT") || strings.Contains(e.Name, "LICENSE_KEY")
							if secretish && strings.HasSuffix(e.Name, "_FILE") {
								if e.ValueFrom != nil || !secretDirs[path.Dir(e.Value)] {
									t.Errorf("%s: %s: env %s of container %s names %q, not a file of a Secret volume", name, f.Path, e.Name, c.Name, e.Value)
								}
								continue
							}
							if secretish && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
								t.Errorf("%s: %s: env %s of container %s is not read from a Secret", name, f.Path, e.Name, c.Name)
							}
						}
					}
				}
			}
		}
	}
}

// TestStageChain checks the dependsOn chain of every deployment.
func TestStageChain(t *testing.T) {
	m, files := renderDir(t, filepath.Join(repoRoot, "examples/fleet"))
	kss := map[string]*kustomizev1.Kustomization{}
	for _, f := range files {
		for _, doc := range splitDocs(f.Data) {
			ks := &kustomizev1.Kustomization{}
			if yaml.Unmarshal(doc, ks) == nil && ks.Kind == "Kustomization" && ks.APIVersion == kustomizev1.GroupVersion.String() {
				kss[ks.Namespace+"/"+ks.Name] = ks
			}
		}
	}
	for _, d := range m.Deployments {
		for i, stage := range Stages {
			ks := kss[d.Namespace+"/"+StageKustomization(d.Name, stage)]
			if ks == nil {
				t.Fatalf("%s/%s: no %s Kustomization", d.Namespace, d.Name, stage)
			}
			var deps []string
			for _, dep := range ks.Spec.DependsOn {
				deps = append(deps, dep.Name)
			}
			var want []string
			if i > 0 {
				want = []string{StageKustomization(d.Name, Stages[i-1])}
			}
			if diff := cmp.Diff(want, deps); diff != "" {
				t.Errorf("%s dependsOn (-want +got):\n%s", ks.Name, diff)
			}
			if ks.Spec.ServiceAccountName != TenantServiceAccount {
				t.Errorf("%s does not impersonate the tenant service account", ks.Name)
			}
			if ks.Spec.Timeout == nil || ks.Spec.RetryInterval == nil {
				t.Errorf("%s needs a timeout and a retryInterval", ks.Name)
			}
			if !ks.Spec.Wait && len(ks.Spec.HealthChecks) == 0 {
				t.Errorf("%s neither waits nor health-checks", ks.Name)
			}
		}
	}
	for _, c := range m.Clusters {
		for _, ns := range c.Tenants {
			ks := kss[FluxSystem+"/"+TenantKustomization(ns)]
			if ks == nil || len(ks.Spec.DependsOn) != 1 || ks.Spec.DependsOn[0].Name != PlatformIssuers {
				t.Errorf("cluster %s: tenant %s must depend on %s", c.Name, ns, PlatformIssuers)
			}
		}
	}
}

// TestImpersonatedAccountsOutliveTheirStages: kustomize-controller prunes a
// deleted Kustomization's objects as the ServiceAccount it impersonates and
// skips pruning when that account is gone. A tenant's stages and its RBAC
// leave together, so the account and its RoleBinding must not be pruned.
func TestImpersonatedAccountsOutliveTheirStages(t *testing.T) {
	for name, tree := range allTrees(t) {
		protected := map[string]bool{} // kind namespace/name
		var accounts []string
		for _, f := range tree.files {
			for _, doc := range splitDocs(f.Data) {
				var u struct {
					Kind     string            `json:"kind"`
					Metadata metav1.ObjectMeta `json:"metadata"`
				}
				if yaml.Unmarshal(doc, &u) != nil {
					continue
				}
				if u.Metadata.Annotations["kustomize.toolkit.fluxcd.io/prune"] == "disabled" {
					protected[u.Kind+" "+u.Metadata.Namespace+"/"+u.Metadata.Name] = true
				}
				ks := &kustomizev1.Kustomization{}
				if u.Kind == "Kustomization" && yaml.Unmarshal(doc, ks) == nil && ks.Spec.ServiceAccountName != "" {
					accounts = append(accounts, ks.Namespace+"/"+ks.Spec.ServiceAccountName)
				}
			}
		}
		if len(accounts) == 0 {
			t.Fatalf("%s: no Kustomization impersonates an account", name)
		}
		for _, a := range accounts {
			if a == FluxSystem+"/"+ClusterReconciler {
				continue // Flux's install makes it, bound to cluster-admin
			}
			for _, kind := range []string{"ServiceAccount", "RoleBinding"} {
				if !protected[kind+" "+a] {
					t.Errorf("%s: %s %s is impersonated but can be pruned", name, kind, a)
				}
			}
		}
	}
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if *update {
		fmt.Println("golden files updated")
	}
	os.Exit(code)
}

// TestDeploymentFilesStayInItsDirectory: the render cache skips a
// deployment's own files; they must all sit in its components directory,
// and rendering while skipping must leave exactly the other files.
func TestDeploymentFilesStayInItsDirectory(t *testing.T) {
	m, all := renderDir(t, filepath.Join(repoRoot, "examples/fleet"))
	_, byDeployment, err := RenderSkipping(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	skip := map[*Deployment][]string{}
	for _, d := range m.Deployments {
		dir := "components/fleio/" + d.Namespace + "/" + d.Name + "/"
		if len(byDeployment[d]) == 0 {
			t.Fatalf("%s/%s rendered no file", d.Namespace, d.Name)
		}
		for _, f := range byDeployment[d] {
			if !strings.HasPrefix(f.Path, dir) && f.Path != "tenants/"+d.Namespace+"/fleio-"+d.Name+".yaml" {
				t.Errorf("%s/%s renders %s, outside %s and its tenant file", d.Namespace, d.Name, f.Path, dir)
			}
		}
		skip[d] = nil
	}
	rest, _, err := RenderSkipping(m, skip)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for d, fs := range byDeployment {
		if d != Shared {
			n += len(fs)
		}
	}
	if len(rest)+n != len(all) {
		t.Errorf("skipping every deployment leaves %d files; %d rendered in all, %d by deployments", len(rest), len(all), n)
	}
	// What is left is the shared files, and skipping them too leaves nothing.
	paths := func(fs []File) []string {
		var ps []string
		for _, f := range fs {
			ps = append(ps, f.Path)
		}
		slices.Sort(ps)
		return ps
	}
	if !slices.Equal(paths(rest), paths(byDeployment[Shared])) {
		t.Errorf("the files left when skipping every deployment are not the shared ones")
	}
	skip[Shared] = nil
	if none, _, err := RenderSkipping(m, skip); err != nil || len(none) != 0 {
		t.Errorf("skipping every deployment and the shared files still renders %d files (%v)", len(none), err)
	}
}

// TestSettingsChangesWithTheDomainRollThePods: settings hold the host,
// which may hold ${CLUSTER_DOMAIN}. Substituting two different domains, a
// Deployment that mounts a settings ConfigMap whose text changes must have
// a pod template that changes too, or its pods keep the old settings.
func TestSettingsChangesWithTheDomainRollThePods(t *testing.T) {
	for name, tree := range allTrees(t) {
		t.Run(name, func(t *testing.T) {
			built := buildAll(t, tree.files)
			for _, c := range tree.m.Clusters {
				subst := func(doc []byte, domain string) string {
					vals := RuntimeValues(c)
					vals["CLUSTER_DOMAIN"] = domain
					out, err := envsubst.Eval(string(doc), func(k string) (string, bool) { v, ok := vals[k]; return v, ok })
					if err != nil {
						t.Fatal(err)
					}
					return out
				}
				changed := map[string]bool{} // "<app dir> <ConfigMap>"
				checked := 0
				for dir, y := range built {
					if !strings.Contains(dir, "/config/") {
						continue
					}
					for _, doc := range splitDocs(y) {
						var cm corev1.ConfigMap
						if yaml.Unmarshal(doc, &cm) != nil || cm.Kind != "ConfigMap" {
							continue
						}
						if subst(doc, "one.example") != subst(doc, "two.example") {
							changed[strings.Replace(dir, "/config/", "/app/", 1)+" "+cm.Name] = true
						}
					}
				}
				for dir, y := range built {
					for _, doc := range splitDocs(y) {
						var dep appsv1.Deployment
						if yaml.Unmarshal(doc, &dep) != nil || dep.Kind != "Deployment" {
							continue
						}
						for _, v := range dep.Spec.Template.Spec.Volumes {
							if v.ConfigMap == nil || !changed[dir+" "+v.ConfigMap.Name] {
								continue
							}
							checked++
							var a, b appsv1.Deployment
							if err := yaml.Unmarshal([]byte(subst(doc, "one.example")), &a); err != nil {
								t.Fatal(err)
							}
							if err := yaml.Unmarshal([]byte(subst(doc, "two.example")), &b); err != nil {
								t.Fatal(err)
							}
							if cmp.Equal(a.Spec.Template, b.Spec.Template) {
								t.Errorf("cluster %s, %s: Deployment %s mounts ConfigMap %s, which changes with CLUSTER_DOMAIN, but its pod template does not", c.Name, dir, dep.Name, v.ConfigMap.Name)
							}
						}
					}
				}
				if name == "examples" && c.Environment == "staging" && checked == 0 {
					t.Errorf("cluster %s: no Deployment reads settings that hold the cluster's domain; the test checks nothing", c.Name)
				}
			}
		})
	}
}

// adminGroups are the API groups whose namespaced kinds Kubernetes' built-in
// admin ClusterRole covers without any aggregated role.
var adminGroups = map[string]bool{"": true, "apps": true, "batch": true, "networking.k8s.io": true,
	"autoscaling": true, "policy": true, "rbac.authorization.k8s.io": true, "discovery.k8s.io": true, "coordination.k8s.io": true}

// TestTenantAccountMayApplyItsStages: every object a tenant's stage
// Kustomizations apply (components/fleio/<namespace>/...) is of a kind the
// tenant ServiceAccount may create and delete without help from other
// installs: the built-in admin ClusterRole, or a Role in the tenant's own
// RBAC. (cert-manager's Certificates are in admin only where the chart's
// aggregated roles are, which certManager: existing does not promise.)
func TestTenantAccountMayApplyItsStages(t *testing.T) {
	for name, tree := range allTrees(t) {
		files := filesMap(tree.files)
		for _, tn := range tree.m.Tenants {
			ns := tn.Namespace
			type rule struct{ group, resource string }
			granted := map[rule]bool{}
			binds := map[string]bool{} // Roles bound to the tenant account
			for _, doc := range splitDocs([]byte(files["tenants/"+ns+"/rbac.yaml"])) {
				var rb rbacv1.RoleBinding
				if yaml.Unmarshal(doc, &rb) == nil && rb.Kind == "RoleBinding" && rb.RoleRef.Kind == "Role" &&
					slices.ContainsFunc(rb.Subjects, func(s rbacv1.Subject) bool { return s.Name == TenantServiceAccount && s.Namespace == ns }) {
					binds[rb.RoleRef.Name] = true
				}
			}
			for _, doc := range splitDocs([]byte(files["tenants/"+ns+"/rbac.yaml"])) {
				var role rbacv1.Role
				if yaml.Unmarshal(doc, &role) != nil || role.Kind != "Role" || !binds[role.Name] {
					continue
				}
				for _, r := range role.Rules {
					if slices.Contains(r.Verbs, "create") && slices.Contains(r.Verbs, "delete") && slices.Contains(r.Verbs, "patch") {
						for _, g := range r.APIGroups {
							for _, res := range r.Resources {
								granted[rule{g, res}] = true
							}
						}
					}
				}
			}
			seen := 0
			for _, f := range tree.files {
				if !strings.HasPrefix(f.Path, "components/fleio/"+ns+"/") || path.Base(f.Path) == "kustomization.yaml" {
					continue
				}
				for _, doc := range splitDocs(f.Data) {
					var u metav1.TypeMeta
					if yaml.Unmarshal(doc, &u) != nil || u.Kind == "" {
						continue
					}
					seen++
					gv, err := schema.ParseGroupVersion(u.APIVersion)
					if err != nil {
						t.Fatal(err)
					}
					if adminGroups[gv.Group] {
						continue
					}
					if res := strings.ToLower(u.Kind) + "s"; !granted[rule{gv.Group, res}] {
						t.Errorf("%s: tenant %s applies %s (%s), which neither admin nor a Role of tenants/%s/rbac.yaml lets its account %s create", name, ns, u.Kind, gv.Group, ns, TenantServiceAccount)
					}
				}
			}
			if seen == 0 {
				t.Errorf("%s: tenant %s: no object under components/fleio/%s", name, ns, ns)
			}
		}
	}
}

// TestTenantStagesBuildFromTheirSparseCheckout: a tenant's GitRepository
// checks out only its sparseCheckout directories, so every Kustomization
// that reads it must build from those files alone (with each cluster's
// runtime values in its path).
func TestTenantStagesBuildFromTheirSparseCheckout(t *testing.T) {
	for name, tree := range allTrees(t) {
		for _, c := range tree.m.Clusters {
			for _, ns := range c.Tenants {
				var dirs []string
				var stages []string
				for _, f := range tree.files {
					if !strings.HasPrefix(f.Path, "tenants/"+ns+"/") {
						continue
					}
					for _, doc := range splitDocs(f.Data) {
						var gr sourcev1.GitRepository
						if yaml.Unmarshal(doc, &gr) == nil && gr.Kind == sourcev1.GitRepositoryKind && gr.Name == FleetSource {
							dirs = gr.Spec.SparseCheckout
						}
						var ks kustomizev1.Kustomization
						if yaml.Unmarshal(doc, &ks) == nil && ks.Kind == kustomizev1.KustomizationKind && ks.Spec.SourceRef.Name == FleetSource {
							p, err := envsubst.Eval(ks.Spec.Path, varsOf(c))
							if err != nil {
								t.Fatal(err)
							}
							stages = append(stages, p)
						}
					}
				}
				if len(dirs) == 0 || len(stages) == 0 {
					t.Fatalf("%s: tenant %s: sparseCheckout %v, %d stages", name, ns, dirs, len(stages))
				}
				var sparse []File
				for _, f := range tree.files {
					if slices.ContainsFunc(dirs, func(d string) bool { return strings.HasPrefix(f.Path, d+"/") }) {
						sparse = append(sparse, f)
					}
				}
				fSys := memFS(t, sparse)
				opts := krusty.MakeDefaultOptions()
				k := krusty.MakeKustomizer(opts)
				for _, p := range stages {
					if _, err := k.Run(fSys, "/"+strings.TrimPrefix(p, "./")); err != nil {
						t.Errorf("%s: cluster %s, tenant %s: %s does not build from sparseCheckout %v: %v", name, c.Name, ns, p, dirs, err)
					}
				}
			}
		}
	}
}

// TestPreflightChecksEverySecretThePodsRead: every Secret a deployment's
// pods and Jobs read (env, volumes, image pull secrets), other than the
// deployment-keys Secret the config stage creates and optional references,
// is health-checked by its preflight Kustomization, so a missing one stops
// the chain there, named, rather than leaving a pod stuck later.
func TestPreflightChecksEverySecretThePodsRead(t *testing.T) {
	for name, tree := range allTrees(t) {
		files := filesMap(tree.files)
		for _, d := range tree.m.Deployments {
			checked := map[string]bool{}
			for _, doc := range splitDocs([]byte(files["tenants/"+d.Namespace+"/fleio-"+d.Name+".yaml"])) {
				var ks kustomizev1.Kustomization
				if yaml.Unmarshal(doc, &ks) == nil && ks.Kind == kustomizev1.KustomizationKind && ks.Name == StageKustomization(d.Name, "preflight") {
					for _, h := range ks.Spec.HealthChecks {
						if h.Kind == "Secret" {
							checked[h.Name] = true
						}
					}
				}
			}
			if len(checked) == 0 {
				t.Fatalf("%s: %s/%s: the preflight Kustomization checks no Secret", name, d.Namespace, d.Name)
			}
			read := map[string]string{} // Secret -> where
			keys := map[string]string{} // "Secret ns/name key k" -> where
			preflightKeys := map[string]bool{}
			for _, f := range tree.files {
				if !strings.HasPrefix(f.Path, "components/fleio/"+d.Namespace+"/"+d.Name+"/") {
					continue
				}
				for _, doc := range splitDocs(f.Data) {
					var obj struct {
						Kind string `json:"kind"`
						Spec struct {
							Template    corev1.PodTemplateSpec `json:"template"`
							JobTemplate struct {
								Spec struct {
									Template corev1.PodTemplateSpec `json:"template"`
								} `json:"spec"`
							} `json:"jobTemplate"`
						} `json:"spec"`
					}
					if yaml.Unmarshal(doc, &obj) != nil {
						continue
					}
					pod := obj.Spec.Template.Spec
					if obj.Kind == "CronJob" {
						pod = obj.Spec.JobTemplate.Spec.Template.Spec
					}
					where := f.Path + " " + obj.Kind
					if obj.Kind == "Job" && strings.Contains(f.Path, "/preflight/") {
						for _, c := range pod.Containers {
							for _, e := range c.Env {
								if strings.HasPrefix(e.Name, "REQUIRED_SECRET_") && strings.HasSuffix(e.Name, "_FROM") {
									preflightKeys[e.Value] = true
								}
							}
						}
					}
					for _, s := range pod.ImagePullSecrets {
						read[s.Name] = where + " imagePullSecrets"
					}
					for _, v := range pod.Volumes {
						if v.Secret != nil && (v.Secret.Optional == nil || !*v.Secret.Optional) {
							read[v.Secret.SecretName] = where + " volume " + v.Name
						}
					}
					for _, c := range append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...) {
						for _, e := range c.Env {
							if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil && (r.SecretKeyRef.Optional == nil || !*r.SecretKeyRef.Optional) {
								read[r.SecretKeyRef.Name] = where + " env " + e.Name
								if obj.Kind == "Job" && strings.Contains(f.Path, "/preflight/") {
									continue
								}
								keys[fmt.Sprintf("Secret %s/%s key %s", d.Namespace, r.SecretKeyRef.Name, r.SecretKeyRef.Key)] = where + " env " + e.Name
							}
						}
					}
				}
			}
			if len(read) == 0 {
				t.Fatalf("%s: %s/%s: no pod reads a Secret", name, d.Namespace, d.Name)
			}
			for _, s := range sortedKeys(read) {
				if s != d.ObjectName("deployment-keys") && !checked[s] {
					t.Errorf("%s: %s/%s: Secret %s is read by %s but not health-checked by preflight", name, d.Namespace, d.Name, s, read[s])
				}
			}
			if len(preflightKeys) == 0 {
				t.Fatalf("%s: %s/%s: the preflight Job checks no Secret key", name, d.Namespace, d.Name)
			}
			for _, k := range sortedKeys(keys) {
				if !strings.Contains(k, "/"+d.ObjectName("deployment-keys")+" ") && !preflightKeys[k] {
					t.Errorf("%s: %s/%s: %s is read by %s but the preflight Job does not check it", name, d.Namespace, d.Name, k, keys[k])
				}
			}
		}
	}
}
