package generator

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kusttypes "sigs.k8s.io/kustomize/api/types"
)

// Annotations and labels Flux and fleiogen read.
const (
	pruneAnnotation      = "kustomize.toolkit.fluxcd.io/prune"
	forceAnnotation      = "kustomize.toolkit.fluxcd.io/force"
	substituteAnnotation = "kustomize.toolkit.fluxcd.io/substitute"
	ssaAnnotation        = "kustomize.toolkit.fluxcd.io/ssa"
	disabled             = "disabled"
	enabled              = "enabled"
	// BackendChecksumAnnotation and FrontendChecksumAnnotation sit on pod
	// templates; they change when the settings change, which rolls the pods.
	BackendChecksumAnnotation  = "fleiogen.io/backend-settings-checksum"
	FrontendChecksumAnnotation = "fleiogen.io/frontend-settings-checksum"
	// ClusterDomainAnnotation sits on the same pod templates when the
	// settings hold ${CLUSTER_DOMAIN}: the checksums hash the text before
	// Flux fills it in, so this value, filled in by Flux, is what changes
	// with the cluster's domain.
	ClusterDomainAnnotation = "fleiogen.io/cluster-domain"
	// RuntimeInfo is the name of the ConfigMap with the cluster's variables.
	RuntimeInfo = "flux-runtime-info"
	// FleetSource is the tenant GitRepository's name; TenantServiceAccount
	// the account every tenant Kustomization impersonates.
	FleetSource          = "fleet"
	TenantServiceAccount = "flux"
	// ClusterReconciler is the account the cluster-admin Kustomizations in
	// flux-system name: kustomize-controller's own, which Flux's install
	// binds to cluster-admin. Under the multi-tenancy lockdown
	// (--default-service-account) a Kustomization that names no account
	// impersonates one with no permissions, flux-system's included.
	ClusterReconciler = "kustomize-controller"
)

// Stages are a FleioDeployment's Flux Kustomizations, in dependsOn order.
var Stages = []string{"preflight", "config", "database", "license", "app"}

// Render turns the model into the files of the fleet repository, sorted by
// path. It is pure: it reads nothing and writes nothing.
func Render(m *Model) ([]File, error) {
	files, _, err := RenderSkipping(m, nil)
	return files, err
}

// Shared stands, in RenderSkipping's skip and result maps, for the files
// that are no one deployment's: clusters/, components/platform/ and the
// tenants' own files. They depend on the Fleet and on every deployment.
var Shared = &Deployment{Name: "(shared)"}

// RenderSkipping is Render without the files of the deployments in skip
// (their components/fleio/<namespace>/<name>/ files and their
// tenants/<namespace>/fleio-<name>.yaml, which depend only on the
// deployment and the Fleet), and without the shared files when skip holds
// Shared. It also returns the files of each deployment it rendered, and
// the shared files under Shared.
func RenderSkipping(m *Model, skip map[*Deployment][]string) ([]File, map[*Deployment][]File, error) {
	return renderSkipping(m, skip, nil)
}

// RenderWrite renders m without the deployments in skip, as RenderSkipping
// does, and writes the files under root with those in keep, as
// WriteScanned does, with the same checks and the same result. Once the
// scan is done, the files of new directories (a first render's, a new
// FleioDeployment's) are written as each part of the tree is rendered, in
// staged directories that move into place only when every check has
// passed; a render needs less memory so, and writing overlaps rendering.
// It returns, as RenderSkipping, the files of each part rendered, for
// RenderCache.StoreAll: the Data of a file written early is nil, and when
// sums is true its SHA-256 is kept instead.
func RenderWrite(root string, m *Model, skip map[*Deployment][]string, keep []string, sc *Scan, sums bool) (WriteStats, map[*Deployment][]File, error) {
	w := &streamer{root: root, sc: sc, sums: sums}
	files, byDeployment, err := renderSkipping(m, skip, w.write)
	if err != nil {
		if w.s != nil {
			w.s.abort()
		}
		sc.unmake(root)
		return WriteStats{}, nil, err
	}
	// A file that could not be written early (a full disk) is reported
	// after the checks, as it would have been without streaming.
	st, err := writeScanned(root, files, keep, sc, w.s, w.err)
	return st, byDeployment, err
}

// renderSkipping is RenderSkipping, handing each file to write (if not
// nil) as soon as it is rendered (see renderer.write).
func renderSkipping(m *Model, skip map[*Deployment][]string, write func(string, []byte) (File, bool)) ([]File, map[*Deployment][]File, error) {
	// The platform is one task, each cluster, each tenant and each
	// deployment another; they are independent, so they run in parallel
	// and are joined in model order.
	var tasks []func(*renderer)
	if _, ok := skip[Shared]; !ok {
		tasks = append(tasks, func(r *renderer) { r.platform() })
		for _, c := range m.Clusters {
			tasks = append(tasks, func(r *renderer) { r.cluster(c) })
		}
		for _, t := range m.Tenants {
			tasks = append(tasks, func(r *renderer) { r.tenant(t) })
		}
	}
	first := len(tasks) // the deployments' tasks start here
	for _, d := range m.Deployments {
		if _, ok := skip[d]; ok {
			tasks = append(tasks, nil)
			continue
		}
		tasks = append(tasks, func(r *renderer) { r.deployment(d) })
	}
	parts := make([][]File, len(tasks))
	errs := make([]error, len(tasks))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, task := range tasks {
		if task == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := &renderer{m: m, write: write}
			task(r)
			parts[i], errs[i] = r.files, r.err
		}()
	}
	wg.Wait()
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	files := make([]File, 0, n)
	byDeployment := make(map[*Deployment][]File, len(m.Deployments)+1)
	for i := range parts {
		if errs[i] != nil {
			return nil, nil, errs[i]
		}
		files = append(files, parts[i]...)
		switch {
		case i >= first && parts[i] != nil:
			byDeployment[m.Deployments[i-first]] = parts[i]
		case i < first:
			byDeployment[Shared] = append(byDeployment[Shared], parts[i]...)
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	for i := 1; i < len(files); i++ {
		if files[i].Path == files[i-1].Path {
			return nil, nil, fmt.Errorf("internal error: %s rendered twice", files[i].Path)
		}
	}
	return files, byDeployment, nil
}

// renderer collects files and the first error.
type renderer struct {
	m     *Model
	files []File
	err   error
	// write, when not nil, writes a file at once when it may (see
	// streamer.write), so that its bytes need not be kept.
	write func(path string, data []byte) (File, bool)
}

// add adds the file path holding data, which it may not keep.
func (r *renderer) add(path string, data []byte) {
	if r.write != nil && r.err == nil {
		if f, ok := r.write(path, data); ok {
			r.files = append(r.files, f)
			return
		}
	}
	r.files = append(r.files, File{Path: path, Data: bytes.Clone(data)})
}

// buffers are reused for every file and patch; what they serialise is
// copied out at its exact size.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// yaml adds a file holding objs as one YAML stream.
func (r *renderer) yaml(path string, objs ...any) {
	b := buffers.Get().(*bytes.Buffer)
	defer buffers.Put(b)
	b.Reset()
	b.WriteString(Header)
	for i, o := range objs {
		if i > 0 {
			b.WriteString("---\n")
		}
		if d, ok := o.(encodedDoc); ok {
			b.Write(d)
			continue
		}
		if err := convert(b, o, false); err != nil && r.err == nil {
			r.err = fmt.Errorf("%s: %w", path, err)
		}
	}
	r.add(path, b.Bytes())
}

// encodedDoc is an object serialised by encoded, which yaml writes as is.
type encodedDoc []byte

// encoded serialises obj once for several files.
func (r *renderer) encoded(obj any) encodedDoc {
	var b bytes.Buffer
	if err := convert(&b, obj, false); err != nil && r.err == nil {
		r.err = err
	}
	return encodedDoc(b.Bytes())
}

// kustomization adds dir/kustomization.yaml.
func (r *renderer) kustomization(dir string, k *kusttypes.Kustomization) {
	k.APIVersion = kusttypes.KustomizationVersion
	k.Kind = kusttypes.KustomizationKind
	r.yaml(dir+"/kustomization.yaml", k)
}

// patch serialises a partial object as an inline strategic-merge patch.
func (r *renderer) patch(obj any) kusttypes.Patch {
	p, err := patchYAML(obj)
	if err != nil && r.err == nil {
		r.err = err
	}
	return kusttypes.Patch{Patch: p}
}

func checksum(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func meta2(name, namespace string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels}
}

// ksOptions are the knobs that differ between Flux Kustomizations.
type ksOptions struct {
	Path           string
	SourceName     string
	SourceNS       string
	DependsOn      []string
	ServiceAccount string
	Wait           bool
	HealthChecks   []meta.NamespacedObjectKindReference
	Timeout        time.Duration
	RetryInterval  time.Duration // default 1 minute
	Interval       time.Duration
	Substitute     bool
	Labels         map[string]string
}

// fluxKustomization builds a Flux Kustomization; every one fleiogen writes
// prunes, has a timeout and a retry interval.
func fluxKustomization(name, namespace string, o ksOptions) *kustomizev1.Kustomization {
	ks := &kustomizev1.Kustomization{
		TypeMeta:   metav1.TypeMeta{APIVersion: kustomizev1.GroupVersion.String(), Kind: kustomizev1.KustomizationKind},
		ObjectMeta: meta2(name, namespace, o.Labels),
		Spec: kustomizev1.KustomizationSpec{
			Interval:           metav1.Duration{Duration: o.Interval},
			RetryInterval:      &metav1.Duration{Duration: cmp.Or(o.RetryInterval, time.Minute)},
			Timeout:            &metav1.Duration{Duration: o.Timeout},
			Path:               o.Path,
			Prune:              true,
			Wait:               o.Wait,
			HealthChecks:       o.HealthChecks,
			ServiceAccountName: o.ServiceAccount,
			SourceRef:          kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: o.SourceName, Namespace: o.SourceNS},
		},
	}
	if o.Interval == 0 {
		ks.Spec.Interval.Duration = 10 * time.Minute
	}
	for _, dep := range o.DependsOn {
		ks.Spec.DependsOn = append(ks.Spec.DependsOn, meta.DependencyReference{Name: dep})
	}
	if o.Substitute {
		ks.Spec.PostBuild = &kustomizev1.PostBuild{SubstituteFrom: []kustomizev1.SubstituteReference{{Kind: "ConfigMap", Name: RuntimeInfo}}}
	}
	return ks
}
