package fluxbuild

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/envsubst"
	"sigs.k8s.io/yaml"
)

// RootName is the name and namespace of the Kustomization flux bootstrap
// writes, which applies clusters/<cluster>/.
const RootName = "flux-system"

// Kustomization is one Flux Kustomization of a cluster and what it applies.
type Kustomization struct {
	Namespace, Name string
	// Path is spec.path as Flux reads it (variables substituted).
	Path string
	// Parent is the ID of the Kustomization that applies this one; empty
	// for the root.
	Parent string
	// DependsOn are the IDs (namespace/name) of spec.dependsOn.
	DependsOn []string
	// Prune, Force and Suspend mirror the spec; the root prunes.
	Prune, Force, Suspend bool
	// DeletionPolicy is spec.deletionPolicy; empty means MirrorPrune.
	DeletionPolicy string
	Labels         map[string]string
	// Objects are what the Kustomization applies, in kustomize's order.
	Objects []*Object
	spec    kustomizev1.KustomizationSpec
	id      string
}

// ID returns namespace/name.
func (k *Kustomization) ID() string {
	if k.id != "" {
		return k.id
	}
	return k.Namespace + "/" + k.Name
}

// PrunesOnDelete reports whether Flux deletes the objects of this
// Kustomization when the Kustomization itself is deleted.
func (k *Kustomization) PrunesOnDelete() bool {
	switch k.DeletionPolicy {
	case "Delete", "WaitForTermination":
		return true
	case "Orphan":
		return false
	}
	return k.Prune
}

// Cluster is what Flux applies on one cluster.
type Cluster struct {
	Name string
	// Values are the data of ConfigMap flux-system/flux-runtime-info
	// (ENVIRONMENT, GIT_BRANCH, ...); empty when the tree has none.
	Values map[string]string
	// Kustomizations are in apply order: each after the one that applies
	// it and after those it dependsOn (when they exist and have no cycle).
	Kustomizations []*Kustomization
	byID           map[string]*Kustomization
}

// Kustomization returns the Kustomization with ID namespace/name, or nil.
func (c *Cluster) Kustomization(id string) *Kustomization {
	if c.byID != nil {
		return c.byID[id]
	}
	for _, k := range c.Kustomizations {
		if k.ID() == id {
			return k
		}
	}
	return nil
}

// Builder builds clusters of one or more trees and shares kustomize output
// between them. It is safe for concurrent use.
type Builder struct {
	cache *kustomizeCache
	// workers bounds the kustomize builds running in the background.
	workers chan struct{}
	// subst holds substituted objects by build output, Kustomization and
	// variables (see substituted).
	substMu sync.Mutex
	subst   map[string][]*Object
}

// NewBuilder returns a Builder with an empty cache.
func NewBuilder() *Builder {
	return &Builder{
		cache:   &kustomizeCache{entries: map[string][]cacheEntry{}, inflight: map[string]*inflight{}},
		workers: make(chan struct{}, runtime.GOMAXPROCS(0)),
		subst:   map[string][]*Object{},
	}
}

// Stats returns how many kustomize builds ran and how many were reused.
func (b *Builder) Stats() (runs, reused int) {
	b.cache.mu.Lock()
	defer b.cache.mu.Unlock()
	return b.cache.runs, b.cache.hits
}

// Build builds cluster in tree t: the root Kustomization (path
// ./clusters/<cluster>) and every Kustomization applied from there.
func (b *Builder) Build(t *Tree, cluster string) (*Cluster, error) {
	rootDir := "clusters/" + cluster
	if !t.isDir(rootDir) {
		return nil, fmt.Errorf("cluster %q is not in the tree (clusters: %s)", cluster, strings.Join(t.Clusters(), ", "))
	}
	c := &Cluster{Name: cluster}
	root := &Kustomization{Namespace: RootName, Name: RootName, Path: "./" + rootDir, Prune: true, id: RootName + "/" + RootName}
	s := &state{applied: map[ObjectID]*Object{}, owner: map[ObjectID]string{}}
	nodes := []*Kustomization{root}
	known := map[string]*Kustomization{root.ID(): root}
	built := map[string]bool{}
	var prefetches sync.WaitGroup
	defer prefetches.Wait()
	for len(c.Kustomizations) < len(nodes) {
		k := pickNext(nodes, built)
		if err := b.buildOne(t, k, s); err != nil {
			return nil, fmt.Errorf("cluster %s: Kustomization %s (path %s): %w", cluster, k.ID(), k.Path, err)
		}
		built[k.ID()] = true
		c.Kustomizations = append(c.Kustomizations, k)
		for _, o := range k.Objects {
			if o.ID.Group != kustomizev1.GroupVersion.Group || o.ID.Kind != kustomizev1.KustomizationKind {
				continue
			}
			child, err := newKustomization(o, k.ID())
			if err != nil {
				return nil, fmt.Errorf("cluster %s: %s applied by %s: %w", cluster, o.ID, k.ID(), err)
			}
			if prev, ok := known[child.ID()]; ok {
				return nil, fmt.Errorf("cluster %s: Kustomization %s is applied by both %s and %s", cluster, child.ID(), prev.Parent, k.ID())
			}
			known[child.ID()] = child
			nodes = append(nodes, child)
			b.prefetch(t, child, &prefetches)
		}
	}
	c.byID = known
	if cm := s.applied[ObjectID{Kind: "ConfigMap", Namespace: RootName, Name: runtimeInfo}]; cm != nil {
		c.Values = configMapData(cm)
	}
	return c, nil
}

// prefetch runs kustomize on k's path in the background as soon as k is
// known: kustomize's output does not depend on what was applied before,
// only the substitution does, which buildOne does in apply order. The
// output lands in the cache, where buildOne finds it (or waits for it).
func (b *Builder) prefetch(t *Tree, k *Kustomization, wg *sync.WaitGroup) {
	dir, err := k.dir()
	if err != nil || !t.isDir(dir) {
		return // buildOne reports it
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		b.workers <- struct{}{}
		defer func() { <-b.workers }()
		_, _ = b.kustomize(t, dir) // errors are reported by buildOne
	}()
}

// dir returns the Kustomization's path as a directory of the tree.
func (k *Kustomization) dir() (string, error) {
	dir := path.Clean(strings.TrimPrefix(k.Path, "./"))
	if dir == "." || dir == "" || path.IsAbs(dir) || strings.HasPrefix(dir, "..") {
		return "", fmt.Errorf("spec.path %q: fleiogen builds only paths inside the repository below its root", k.Path)
	}
	return dir, nil
}

// runtimeInfo is the ConfigMap holding a cluster's variables.
const runtimeInfo = "flux-runtime-info"

// pickNext returns the first unbuilt Kustomization whose dependencies are
// all built; when none is (a missing dependency or a cycle, which Flux
// would leave not ready), the first unbuilt one.
func pickNext(nodes []*Kustomization, built map[string]bool) *Kustomization {
	var first *Kustomization
	for _, k := range nodes {
		if built[k.ID()] {
			continue
		}
		if first == nil {
			first = k
		}
		ready := true
		for _, d := range k.DependsOn {
			if !built[d] {
				ready = false
				break
			}
		}
		if ready {
			return k
		}
	}
	return first
}

// state is what the cluster holds so far: every object applied, by ID.
type state struct {
	applied map[ObjectID]*Object
	owner   map[ObjectID]string
}

// newKustomization reads a Flux Kustomization object that parent applies.
func newKustomization(o *Object, parent string) (*Kustomization, error) {
	raw, err := json.Marshal(o.Content)
	if err != nil {
		return nil, err
	}
	var ks kustomizev1.Kustomization
	if err := json.Unmarshal(raw, &ks); err != nil {
		return nil, err
	}
	if ks.Namespace == "" {
		return nil, fmt.Errorf("metadata.namespace is empty")
	}
	spec := ks.Spec
	var unsupported []string
	for field, set := range map[string]bool{
		"spec.patches": len(spec.Patches) > 0, "spec.images": len(spec.Images) > 0,
		"spec.components": len(spec.Components) > 0, "spec.targetNamespace": spec.TargetNamespace != "",
		"spec.namePrefix": spec.NamePrefix != "", "spec.nameSuffix": spec.NameSuffix != "",
		"spec.commonMetadata": spec.CommonMetadata != nil, "spec.kubeConfig": spec.KubeConfig != nil,
		"spec.decryption": spec.Decryption != nil,
	} {
		if set {
			unsupported = append(unsupported, field)
		}
	}
	if len(unsupported) > 0 {
		sort.Strings(unsupported)
		return nil, fmt.Errorf("%s: not supported by fleiogen's build", strings.Join(unsupported, ", "))
	}
	k := &Kustomization{
		Namespace: ks.Namespace, Name: ks.Name, Path: spec.Path, Parent: parent,
		Prune: spec.Prune, Force: spec.Force, Suspend: spec.Suspend, DeletionPolicy: spec.DeletionPolicy,
		Labels: ks.Labels, spec: spec, id: ks.Namespace + "/" + ks.Name,
	}
	for _, d := range spec.DependsOn {
		ns := d.Namespace
		if ns == "" {
			ns = ks.Namespace
		}
		k.DependsOn = append(k.DependsOn, ns+"/"+d.Name)
	}
	return k, nil
}

// buildOne builds k's path, substitutes its variables and labels what it
// applies; the objects are then part of the cluster state.
func (b *Builder) buildOne(t *Tree, k *Kustomization, s *state) error {
	dir, err := k.dir()
	if err != nil {
		return err
	}
	if !t.isDir(dir) {
		return fmt.Errorf("spec.path %q: no such directory in the tree", k.Path)
	}
	docs, err := b.kustomize(t, dir)
	if err != nil {
		return err
	}
	vars, err := variables(k, s)
	if err != nil {
		return err
	}
	always := k.spec.PostBuild != nil && k.spec.PostBuild.SubstituteStrategy == kustomizev1.SubstituteStrategyAlways
	objs, err := b.substituted(k, docs, vars, always)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if prev, ok := s.owner[o.ID]; ok {
			return fmt.Errorf("%s is applied by both %s and %s", o.ID, prev, k.ID())
		}
		s.owner[o.ID] = k.ID()
		s.applied[o.ID] = o
	}
	k.Objects = objs
	return nil
}

// substituted returns docs substituted with vars and labelled with k as
// their owner. The result depends only on its inputs, so it is shared: the
// two sides of a diff get the very same objects for a Kustomization whose
// name, build and variables did not change.
func (b *Builder) substituted(k *Kustomization, docs []*doc, vars map[string]string, always bool) ([]*Object, error) {
	if len(docs) == 0 {
		return nil, nil
	}
	var key strings.Builder
	fmt.Fprintf(&key, "%p\x00%s\x00%v", docs[0], k.ID(), always)
	for _, name := range sortedKeys(vars) {
		fmt.Fprintf(&key, "\x00%s=%s", name, vars[name])
	}
	b.substMu.Lock()
	objs, ok := b.subst[key.String()]
	b.substMu.Unlock()
	if ok {
		return objs, nil
	}
	owner := map[string]string{OwnerNameLabel: k.Name, OwnerNamespaceLabel: k.Namespace}
	for _, d := range docs {
		o := d.obj
		if d.dollar && (len(vars) > 0 || always) && !o.Marked(SubstituteKey, Disabled) {
			y, err := yaml.JSONToYAML(d.json)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", o.ID, err)
			}
			out, err := envsubst.Eval(string(y), func(name string) (string, bool) {
				v, ok := vars[name]
				return v, ok
			})
			if err != nil {
				return nil, fmt.Errorf("%s: substituting variables: %w", o.ID, err)
			}
			if o, err = newObject([]byte(out)); err != nil {
				return nil, fmt.Errorf("%s: after substitution: %w", d.obj.ID, err)
			}
		}
		objs = append(objs, o.withLabels(owner))
	}
	b.substMu.Lock()
	b.subst[key.String()] = objs
	b.substMu.Unlock()
	return objs, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var varName = regexp.MustCompile(`^[_[:alpha:]][_[:alpha:][:digit:]]*$`)

// variables returns k's post-build variables as kustomize-controller
// loads them: ConfigMaps and Secrets of substituteFrom (in k's namespace,
// from what earlier Kustomizations applied), then spec.postBuild.substitute,
// which wins; newlines are removed from values.
func variables(k *Kustomization, s *state) (map[string]string, error) {
	pb := k.spec.PostBuild
	if pb == nil {
		return nil, nil
	}
	vars := map[string]string{}
	for _, ref := range pb.SubstituteFrom {
		id := ObjectID{Kind: ref.Kind, Namespace: k.Namespace, Name: ref.Name}
		o := s.applied[id]
		if o == nil {
			if ref.Optional {
				continue
			}
			return nil, fmt.Errorf("spec.postBuild.substituteFrom: %s is not applied by any Kustomization that runs before this one", id)
		}
		var data map[string]string
		switch ref.Kind {
		case "ConfigMap":
			data = configMapData(o)
		case "Secret":
			var err error
			if data, err = secretData(o); err != nil {
				return nil, fmt.Errorf("spec.postBuild.substituteFrom: %s: %w", id, err)
			}
		default:
			return nil, fmt.Errorf("spec.postBuild.substituteFrom: kind %q (want ConfigMap or Secret)", ref.Kind)
		}
		for k, v := range data {
			vars[k] = strings.ReplaceAll(v, "\n", "")
		}
	}
	for k, v := range pb.Substitute {
		vars[k] = strings.ReplaceAll(v, "\n", "")
	}
	for name := range vars {
		if !varName.MatchString(name) {
			return nil, fmt.Errorf("variable %q: name must match %s", name, varName)
		}
	}
	return vars, nil
}

func configMapData(o *Object) map[string]string {
	raw, _ := o.Content["data"].(map[string]any)
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// secretData returns a Secret's data (decoded) and stringData, as the API
// server would store them.
func secretData(o *Object) (map[string]string, error) {
	out := map[string]string{}
	raw, _ := o.Content["data"].(map[string]any)
	for k, v := range raw {
		s, _ := v.(string)
		dec, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("data.%s: %w", k, err)
		}
		out[k] = string(dec)
	}
	str, _ := o.Content["stringData"].(map[string]any)
	for k, v := range str {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out, nil
}
