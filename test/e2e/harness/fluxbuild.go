package harness

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	kustomizegen "github.com/fluxcd/pkg/kustomize"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Built is what one Flux Kustomization would apply.
type Built struct {
	KS             KS
	Path           string // spec.path after substitution
	ServiceAccount string // spec.serviceAccountName ("" = kustomize-controller itself)
	Objects        []*unstructured.Unstructured
}

// BuildTree builds a cluster's Kustomizations the way kustomize-controller
// does, without a cluster: it starts from the bootstrap Kustomization
// (flux-system, path clusterPath), builds each path with Flux's kustomize
// generator and build (generating a kustomization.yaml where there is
// none), runs postBuild substitution with the variables of its inline
// substitute and substituteFrom ConfigMaps (taken from the objects earlier
// Kustomizations build, e.g. flux-runtime-info), and follows every Flux
// Kustomization it finds. Substitution is strict: a variable without a value
// is an error, so a typo is caught here rather than rendered as "".
//
// All GitRepository sources are taken to be the tree at root.
func BuildTree(root, clusterPath string) ([]Built, error) {
	boot := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kustomize.toolkit.fluxcd.io/v1",
		"kind":       "Kustomization",
		"metadata":   map[string]any{"name": "flux-system", "namespace": FluxNamespace},
		"spec": map[string]any{"path": "./" + strings.TrimPrefix(clusterPath, "./"), "prune": true,
			"sourceRef": map[string]any{"kind": "GitRepository", "name": "flux-system"}},
	}}
	configMaps := map[string]map[string]string{} // ns/name -> data
	var out []Built
	queue := []*unstructured.Unstructured{boot}
	seen := map[KS]bool{}
	for len(queue) > 0 {
		ks := queue[0]
		queue = queue[1:]
		k := KS{ks.GetNamespace(), ks.GetName()}
		if seen[k] && k == (KS{FluxNamespace, "flux-system"}) {
			continue // flux bootstrap's gotk-sync.yaml: flux-system manages itself
		}
		if seen[k] {
			return nil, fmt.Errorf("Kustomization %s is defined twice", k)
		}
		seen[k] = true
		b, err := buildOne(root, ks, configMaps)
		if err != nil {
			return nil, fmt.Errorf("Kustomization %s: %w", k, err)
		}
		out = append(out, *b)
		for _, o := range b.Objects {
			if o.GetKind() == "ConfigMap" && o.GetAPIVersion() == "v1" {
				data, _, _ := unstructured.NestedStringMap(o.Object, "data")
				configMaps[o.GetNamespace()+"/"+o.GetName()] = data
			}
			if o.GetKind() == "Kustomization" && strings.HasPrefix(o.GetAPIVersion(), "kustomize.toolkit.fluxcd.io/") {
				queue = append(queue, o)
			}
		}
	}
	return out, nil
}

func buildOne(root string, ks *unstructured.Unstructured, configMaps map[string]map[string]string) (*Built, error) {
	path, _, _ := unstructured.NestedString(ks.Object, "spec", "path")
	sa, _, _ := unstructured.NestedString(ks.Object, "spec", "serviceAccountName")
	b := &Built{KS: KS{ks.GetNamespace(), ks.GetName()}, Path: path, ServiceAccount: sa}
	if strings.Contains(path, "${") {
		return nil, fmt.Errorf("spec.path %q still has a variable in it after its parent's substitution", path)
	}
	// kustomize-controller works on a fresh copy of the artifact each time
	// (the generator writes kustomization.yaml files into it).
	work, err := os.MkdirTemp("", "fleiogen-e2e-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	if err := copyDir(root, work); err != nil {
		return nil, err
	}
	dir := filepath.Join(work, filepath.FromSlash(strings.TrimPrefix(path, "./")))
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("spec.path %q does not exist in the tree", path)
	}
	if _, err := kustomizegen.NewGenerator(work, *ks).WriteFile(dir); err != nil {
		return nil, fmt.Errorf("kustomize generate %s: %w", path, err)
	}
	m, err := kustomizegen.SecureBuild(work, dir, false)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", path, err)
	}

	// Variables, as LoadVariables would read them from the cluster.
	vars := map[string]any{}
	postBuild, hasPostBuild, _ := unstructured.NestedMap(ks.Object, "spec", "postBuild")
	if hasPostBuild {
		refs, _, _ := unstructured.NestedSlice(postBuild, "substituteFrom")
		for _, r := range refs {
			ref, _ := r.(map[string]any)
			kind, _ := ref["kind"].(string)
			name, _ := ref["name"].(string)
			optional, _ := ref["optional"].(bool)
			if kind != "ConfigMap" {
				if !optional {
					return nil, fmt.Errorf("substituteFrom %s/%s: only ConfigMaps rendered in the tree can be resolved here", kind, name)
				}
				continue
			}
			data, ok := configMaps[ks.GetNamespace()+"/"+name]
			if !ok {
				if optional {
					continue
				}
				return nil, fmt.Errorf("substituteFrom ConfigMap %s/%s: no Kustomization built before this one creates it", ks.GetNamespace(), name)
			}
			for k, v := range data {
				vars[k] = strings.ReplaceAll(v, "\n", "")
			}
		}
		inline, _, _ := unstructured.NestedStringMap(postBuild, "substitute")
		for k, v := range inline {
			vars[k] = v
		}
	}
	sub := ks.DeepCopy()
	if hasPostBuild {
		_ = unstructured.SetNestedField(sub.Object, vars, "spec", "postBuild", "substitute")
		_ = unstructured.SetNestedSlice(sub.Object, nil, "spec", "postBuild", "substituteFrom")
	}
	for _, res := range m.Resources() {
		if res.GetName() == "" || res.GetKind() == "" || res.GetApiVersion() == "" {
			return nil, fmt.Errorf("object without apiVersion, kind or name: %s", res.String())
		}
		if hasPostBuild {
			outRes, err := kustomizegen.SubstituteVariables(context.Background(), nil, *sub, res,
				kustomizegen.SubstituteWithDryRun(true), kustomizegen.SubstituteWithStrict(true))
			if err != nil {
				return nil, fmt.Errorf("post build for %s %s: %w", res.GetKind(), res.GetName(), err)
			}
			if outRes != nil {
				if _, err := m.Replace(res); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, res := range m.Resources() {
		js, err := res.MarshalJSON()
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(js); err != nil {
			return nil, err
		}
		b.Objects = append(b.Objects, u)
	}
	return b, nil
}

func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
