package fluxbuild

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fleiogen/fleiogen/generator"
)

// tree builds a Tree from path: content pairs.
func tree(t *testing.T, files map[string]string) *Tree {
	t.Helper()
	var fs []generator.File
	for p, c := range files {
		fs = append(fs, generator.File{Path: p, Data: []byte(c)})
	}
	tr, err := NewTree(fs)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func ks(name, ns, path string, extra string) string {
	return "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: " + name + "\n  namespace: " + ns +
		"\nspec:\n  interval: 10m\n  prune: true\n  path: " + path + "\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n" + extra
}

const runtimeInfoYAML = `apiVersion: v1
kind: ConfigMap
metadata:
  name: flux-runtime-info
  namespace: flux-system
data:
  ENVIRONMENT: production
  CLUSTER_DOMAIN: example.com
`

const substituteFrom = "  postBuild:\n    substituteFrom:\n    - kind: ConfigMap\n      name: flux-runtime-info\n"

func build(t *testing.T, files map[string]string) (*Cluster, error) {
	t.Helper()
	return NewBuilder().Build(tree(t, files), "c1")
}

func object(t *testing.T, c *Cluster, ks string, kind, name string) *Object {
	t.Helper()
	k := c.Kustomization(ks)
	if k == nil {
		t.Fatalf("no Kustomization %s", ks)
	}
	for _, o := range k.Objects {
		if o.ID.Kind == kind && o.ID.Name == name {
			return o
		}
	}
	t.Fatalf("%s applies no %s %s", ks, kind, name)
	return nil
}

func TestSubstitution(t *testing.T) {
	// The root Kustomization does not substitute: a variable in the path
	// of a Kustomization it applies stays as written.
	_, err := build(t, map[string]string{
		"clusters/c1/runtime-info.yaml":      runtimeInfoYAML,
		"clusters/c1/apps.yaml":              ks("apps", "flux-system", "./apps/${ENVIRONMENT}", substituteFrom+"    substitute:\n      CLUSTER_DOMAIN: override.test\n"),
		"apps/production/kustomization.yaml": "resources:\n- cm.yaml\n- job.yaml\n- labelled.yaml\n",
		"apps/production/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: default\ndata:\n  host: app.${CLUSTER_DOMAIN}\n  env: ${ENVIRONMENT}\n  price: $$5\n  default: ${MISSING:=fallback}\n",
		"apps/production/job.yaml":           "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: job\n  namespace: default\n  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\nspec:\n  template:\n    spec:\n      containers:\n      - name: sh\n        command: [\"sh\", \"-c\", \"echo ${HOME} $$PATH\"]\n",
		"apps/production/labelled.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: labelled\n  namespace: default\n  labels:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\ndata:\n  v: ${ENVIRONMENT}\n",
	})
	if err == nil {
		t.Fatal("the root Kustomization does not substitute, so ./apps/${ENVIRONMENT} must not be found")
	}
	if !strings.Contains(err.Error(), `spec.path "./apps/${ENVIRONMENT}": no such directory`) {
		t.Fatalf("err = %v", err)
	}

	c, err := build(t, map[string]string{
		"clusters/c1/runtime-info.yaml":      runtimeInfoYAML,
		"clusters/c1/apps.yaml":              ks("apps", "flux-system", "./apps/production", substituteFrom+"    substitute:\n      CLUSTER_DOMAIN: override.test\n"),
		"apps/production/kustomization.yaml": "resources:\n- cm.yaml\n- job.yaml\n- labelled.yaml\n",
		"apps/production/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: default\ndata:\n  host: app.${CLUSTER_DOMAIN}\n  env: ${ENVIRONMENT}\n  price: $$5\n  default: ${MISSING:=fallback}\n",
		"apps/production/job.yaml":           "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: job\n  namespace: default\n  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\nspec:\n  template:\n    spec:\n      containers:\n      - name: sh\n        command: [\"sh\", \"-c\", \"echo ${HOME} $$PATH\"]\n",
		"apps/production/labelled.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: labelled\n  namespace: default\n  labels:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\ndata:\n  v: ${ENVIRONMENT}\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	cm := object(t, c, "flux-system/apps", "ConfigMap", "cm")
	want := map[string]any{"host": "app.override.test", "env": "production", "price": "$5", "default": "fallback"}
	if diff := cmp.Diff(want, cm.Content["data"]); diff != "" {
		t.Errorf("substituted data (-want +got):\n%s", diff)
	}
	job := object(t, c, "flux-system/apps", "Job", "job")
	if cmd := job.Path("spec", "template", "spec", "containers").([]any)[0].(map[string]any)["command"].([]any)[2]; cmd != "echo ${HOME} $$PATH" {
		t.Errorf("annotated Job was substituted: %q", cmd)
	}
	if v := object(t, c, "flux-system/apps", "ConfigMap", "labelled").Content["data"].(map[string]any)["v"]; v != "${ENVIRONMENT}" {
		t.Errorf("labelled ConfigMap was substituted: %q", v)
	}
	for _, o := range c.Kustomization("flux-system/apps").Objects {
		if l := o.Labels(); l[OwnerNameLabel] != "apps" || l[OwnerNamespaceLabel] != "flux-system" {
			t.Errorf("%s has owner labels %v", o.ID, l)
		}
	}
	if c.Values["ENVIRONMENT"] != "production" {
		t.Errorf("cluster values = %v", c.Values)
	}
}

func TestStrictSubstitution(t *testing.T) {
	_, err := build(t, map[string]string{
		"clusters/c1/runtime-info.yaml": runtimeInfoYAML,
		"clusters/c1/apps.yaml":         ks("apps", "flux-system", "./apps", substituteFrom),
		"apps/cm.yaml":                  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: default\ndata:\n  v: ${NOT_SET}\n",
	})
	if err == nil || !strings.Contains(err.Error(), "ConfigMap default/cm: substituting variables") || !strings.Contains(err.Error(), "variable not set") {
		t.Errorf("err = %v", err)
	}
}

func TestSubstituteFromMustExist(t *testing.T) {
	files := map[string]string{
		"clusters/c1/apps.yaml": ks("apps", "flux-system", "./apps", substituteFrom),
		"apps/cm.yaml":          "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: default\ndata:\n  v: x\n",
	}
	if _, err := build(t, files); err == nil || !strings.Contains(err.Error(), "ConfigMap flux-system/flux-runtime-info is not applied") {
		t.Errorf("err = %v", err)
	}
	files["clusters/c1/apps.yaml"] = ks("apps", "flux-system", "./apps", substituteFrom+"      optional: true\n")
	if _, err := build(t, files); err != nil {
		t.Errorf("optional substituteFrom: %v", err)
	}
}

func TestApplyOrderFollowsDependsOn(t *testing.T) {
	dep := func(names ...string) string {
		s := "  dependsOn:\n"
		for _, n := range names {
			s += "  - name: " + n + "\n"
		}
		return s
	}
	c, err := build(t, map[string]string{
		// Listed before what they depend on.
		"clusters/c1/a.yaml":        ks("app", "flux-system", "./app", dep("db", "infra")),
		"clusters/c1/b.yaml":        ks("db", "flux-system", "./db", dep("infra")),
		"clusters/c1/c.yaml":        ks("infra", "flux-system", "./infra", ""),
		"clusters/c1/flux-system/x": "ignored: flux bootstrap owns flux-system/",
		"app/cm.yaml":               "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: default\n",
		"db/cm.yaml":                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db\n  namespace: default\n",
		"infra/cm.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: infra\n  namespace: default\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range c.Kustomizations {
		got = append(got, k.ID())
	}
	want := []string{"flux-system/flux-system", "flux-system/infra", "flux-system/db", "flux-system/app"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("apply order (-want +got):\n%s", diff)
	}
}

func TestObjectAppliedTwiceIsAnError(t *testing.T) {
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same\n  namespace: default\n"
	_, err := build(t, map[string]string{
		"clusters/c1/a.yaml": ks("a", "flux-system", "./a", ""),
		"clusters/c1/b.yaml": ks("b", "flux-system", "./b", ""),
		"a/cm.yaml":          cm,
		"b/cm.yaml":          cm,
	})
	if err == nil || !strings.Contains(err.Error(), "ConfigMap default/same is applied by both flux-system/a and flux-system/b") {
		t.Errorf("err = %v", err)
	}
}

func TestUnknownCluster(t *testing.T) {
	_, err := NewBuilder().Build(tree(t, map[string]string{"clusters/c1/a.yaml": runtimeInfoYAML}), "c2")
	if err == nil || !strings.Contains(err.Error(), `cluster "c2" is not in the tree (clusters: c1)`) {
		t.Errorf("err = %v", err)
	}
}

// TestCacheSeesChanges checks that reusing kustomize output between trees
// never hides a change: a changed base file, a new file, a file gone.
func TestCacheSeesChanges(t *testing.T) {
	b := NewBuilder()
	files := map[string]string{
		"clusters/c1/apps.yaml":          ks("apps", "flux-system", "./app/overlay", ""),
		"app/base/kustomization.yaml":    "resources:\n- cm.yaml\n",
		"app/base/cm.yaml":               "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: default\ndata:\n  v: one\n",
		"app/overlay/kustomization.yaml": "resources:\n- ../base\n",
	}
	value := func() any {
		t.Helper()
		c, err := b.Build(tree(t, files), "c1")
		if err != nil {
			t.Fatal(err)
		}
		return object(t, c, "flux-system/apps", "ConfigMap", "cm").Content["data"].(map[string]any)["v"]
	}
	if v := value(); v != "one" {
		t.Fatalf("v = %v", v)
	}
	if v := value(); v != "one" {
		t.Fatalf("v = %v", v)
	}
	runs, reused := b.Stats()
	if reused == 0 {
		t.Errorf("identical trees: %d runs, nothing reused", runs)
	}
	files["app/base/cm.yaml"] = strings.Replace(files["app/base/cm.yaml"], "one", "two", 1)
	if v := value(); v != "two" {
		t.Errorf("after changing the base, v = %v", v)
	}
	files["app/overlay/kustomization.yaml"] = "resources:\n- ../base\npatches:\n- patch: |\n    apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: cm\n      namespace: default\n    data:\n      v: three\n"
	if v := value(); v != "three" {
		t.Errorf("after adding a patch, v = %v", v)
	}
}

func TestSelect(t *testing.T) {
	c := &Cluster{Name: "c1", Kustomizations: []*Kustomization{
		{Namespace: "flux-system", Name: "tenant-a"},
		{Namespace: "a", Name: "fleio-x-config", Labels: map[string]string{StageLabel: "config", InstanceLabel: "x"}},
		{Namespace: "a", Name: "fleio-x-app", Labels: map[string]string{StageLabel: "app", InstanceLabel: "x"}},
		{Namespace: "b", Name: "fleio-x-app", Labels: map[string]string{StageLabel: "app", InstanceLabel: "x"}},
	}}
	for _, tc := range []struct {
		f    Filter
		want []string
	}{
		{Filter{}, []string{"flux-system/tenant-a", "a/fleio-x-config", "a/fleio-x-app", "b/fleio-x-app"}},
		{Filter{Stage: "app"}, []string{"a/fleio-x-app", "b/fleio-x-app"}},
		{Filter{Deployment: "x"}, []string{"a/fleio-x-config", "a/fleio-x-app", "b/fleio-x-app"}},
		{Filter{Deployment: "a/x", Stage: "app"}, []string{"a/fleio-x-app"}},
	} {
		kss, err := c.Select(tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, k := range kss {
			got = append(got, k.ID())
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tc.f, diff)
		}
	}
	if _, err := c.Select(Filter{Deployment: "c/x"}); err == nil || !strings.Contains(err.Error(), "FleioDeployments: a/x, b/x") {
		t.Errorf("err = %v", err)
	}
}

// TestExamples builds each example cluster twice: the stream is the same
// bytes, every Kustomization of the generator's graph is built, in an order
// that respects its edges, and nothing is left to substitute.
func TestExamples(t *testing.T) {
	specs, err := generator.LoadDir("../../examples/fleet")
	if err != nil {
		t.Fatal(err)
	}
	m, err := generator.Validate(specs)
	if err != nil {
		t.Fatal(err)
	}
	files, err := generator.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBuilder()
	for _, cm := range m.Clusters {
		var out [2]bytes.Buffer
		var c *Cluster
		for i := range out {
			tr, err := NewTree(files)
			if err != nil {
				t.Fatal(err)
			}
			if c, err = b.Build(tr, cm.Name); err != nil {
				t.Fatal(err)
			}
			if err := WriteYAML(&out[i], c.Kustomizations); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(out[0].Bytes(), out[1].Bytes()) {
			t.Errorf("%s: two builds differ", cm.Name)
		}
		if strings.Contains(out[0].String(), "${") {
			t.Errorf("%s: a variable is left unsubstituted outside Jobs", cm.Name)
		}
		pos := map[string]int{}
		for i, k := range c.Kustomizations {
			pos[k.ID()] = i
		}
		g := generator.ClusterGraph(cm)
		for _, n := range g.Nodes {
			if _, ok := pos[n.ID]; !ok {
				t.Errorf("%s: %s is in the graph but not built", cm.Name, n.ID)
			}
		}
		if len(g.Nodes) != len(c.Kustomizations) {
			t.Errorf("%s: graph has %d nodes, build %d Kustomizations", cm.Name, len(g.Nodes), len(c.Kustomizations))
		}
		for _, e := range g.Edges {
			if pos[e.From] >= pos[e.To] {
				t.Errorf("%s: %s is applied after %s", cm.Name, e.From, e.To)
			}
		}
		// Every dependsOn of the build is an edge of the graph.
		edges := map[[2]string]bool{}
		for _, e := range g.Edges {
			if e.DependsOn {
				edges[[2]string{e.From, e.To}] = true
			}
		}
		built := map[[2]string]bool{}
		for _, k := range c.Kustomizations {
			for _, d := range k.DependsOn {
				built[[2]string{d, k.ID()}] = true
				if !edges[[2]string{d, k.ID()}] {
					t.Errorf("%s: %s dependsOn %s, which the graph does not show", cm.Name, k.ID(), d)
				}
			}
		}
		for e := range edges {
			if !built[e] {
				t.Errorf("%s: the graph shows %s dependsOn %s, which the build does not have", cm.Name, e[1], e[0])
			}
		}
	}
	if runs, reused := b.Stats(); reused < runs {
		t.Errorf("second builds should reuse kustomize output: %d runs, %d reused", runs, reused)
	}
}
