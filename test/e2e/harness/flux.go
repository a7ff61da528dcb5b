package harness

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// FleetURL is the made-up remote the bootstrap GitRepository points at; the
// source stand-in maps it (and every other URL) to the local test repository.
const FleetURL = "https://git.example.invalid/fleet/d1-fleet.git"

// GotkSync is what `flux bootstrap` writes to clusters/<name>/flux-system/gotk-sync.yaml,
// with the multi-tenancy lockdown's patch of the flux-system Kustomization
// (serviceAccountName: kustomize-controller) applied, as bootstrap applies it.
func GotkSync(clusterPath, branch string) string {
	return fmt.Sprintf(`---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: %s
  secretRef:
    name: flux-system
  url: %s
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./%s
  prune: true
  serviceAccountName: kustomize-controller
  sourceRef:
    kind: GitRepository
    name: flux-system
`, branch, FleetURL, strings.TrimPrefix(clusterPath, "./"))
}

// BootstrapKustomization is the kustomization.yaml `flux bootstrap` writes
// next to gotk-sync.yaml. gotk-components.yaml (controllers and CRDs) is left
// out: here the controllers run as processes and the harness installs CRDs.
const BootstrapKustomization = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- gotk-sync.yaml
`

// WriteBootstrap writes clusters/<cluster>/flux-system/ into the repository
// work tree as flux bootstrap would (the caller commits).
func WriteBootstrap(r *Repo, clusterPath, branch string) {
	r.WriteFile(clusterPath+"/flux-system/gotk-sync.yaml", GotkSync(clusterPath, branch))
	r.WriteFile(clusterPath+"/flux-system/kustomization.yaml", BootstrapKustomization)
}

// Bootstrap does the cluster side of `flux bootstrap`: the flux-system
// Secret (git credentials, unused by the stand-in) and the sync objects.
func (c *Cluster) Bootstrap(ctx context.Context, clusterPath, branch string) error {
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "flux-system", Namespace: FluxNamespace},
		StringData: map[string]string{"username": "git", "password": "e2e-not-a-token"}}
	if err := c.Client.Create(ctx, sec); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return c.ApplyYAML(ctx, GotkSync(clusterPath, branch))
}

// KS identifies a Flux Kustomization.
type KS struct{ Namespace, Name string }

func (k KS) String() string { return k.Namespace + "/" + k.Name }

// KSState summarises a Kustomization's status.
type KSState struct {
	Exists          bool
	Ready           metav1.ConditionStatus
	Reason, Message string
	LastApplied     string
	LastAttempted   string
	Generation      int64
	ObservedGen     int64
	Transition      time.Time
	Inventory       []string // Flux inventory IDs with the version appended: <ns>_<name>_<group>_<kind>_<version>
}

func (s KSState) String() string {
	if !s.Exists {
		return "not found"
	}
	return fmt.Sprintf("Ready=%s reason=%s lastApplied=%q observedGeneration=%d/%d message=%q",
		s.Ready, s.Reason, s.LastApplied, s.ObservedGen, s.Generation, s.Message)
}

// ReadyAt reports whether the Kustomization is Ready, up to date with its
// spec, and has applied a revision of commit (any commit if "").
func (s KSState) ReadyAt(commit string) bool {
	if !s.Exists || s.Ready != metav1.ConditionTrue || s.ObservedGen != s.Generation {
		return false
	}
	return commit == "" || strings.HasSuffix(s.LastApplied, "sha1:"+commit)
}

// KSStatus reads a Kustomization's state.
func (c *Cluster) KSStatus(ctx context.Context, k KS) (KSState, error) {
	var ks kustomizev1.Kustomization
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: k.Namespace, Name: k.Name}, &ks); err != nil {
		if apierrors.IsNotFound(err) {
			return KSState{}, nil
		}
		return KSState{}, err
	}
	return ksState(&ks), nil
}

func ksState(ks *kustomizev1.Kustomization) KSState {
	s := KSState{Exists: true, Ready: metav1.ConditionUnknown, Generation: ks.Generation, ObservedGen: ks.Status.ObservedGeneration,
		LastApplied: ks.Status.LastAppliedRevision, LastAttempted: ks.Status.LastAttemptedRevision}
	if c := apimeta.FindStatusCondition(ks.Status.Conditions, meta.ReadyCondition); c != nil {
		s.Ready, s.Reason, s.Message, s.Transition = c.Status, c.Reason, c.Message, c.LastTransitionTime.Time
	}
	if ks.Status.Inventory != nil {
		for _, e := range ks.Status.Inventory.Entries {
			s.Inventory = append(s.Inventory, e.ID+"_"+e.Version)
		}
	}
	return s
}

// WaitReady waits until every Kustomization is Ready at commit ("" for any).
// Failing, it names each one that is not and its last state, plus what the
// workload stand-in is holding back.
func (c *Cluster) WaitReady(ctx context.Context, timeout time.Duration, commit string, kss ...KS) error {
	return c.Poll(ctx, timeout, fmt.Sprintf("Kustomizations Ready at %s: %v", shortSHA(commit), kss), func() (bool, string, error) {
		var bad []string
		for _, k := range kss {
			s, err := c.KSStatus(ctx, k)
			if err != nil {
				return false, "", err
			}
			if !s.ReadyAt(commit) {
				bad = append(bad, fmt.Sprintf("Kustomization %s: %s", k, s))
			}
		}
		if len(bad) == 0 {
			return true, "", nil
		}
		return false, strings.Join(bad, "\n  ") + c.waitingSummary(), nil
	})
}

func (c *Cluster) waitingSummary() string {
	if c.Workloads == nil {
		return ""
	}
	w := c.Workloads.Waiting()
	if len(w) == 0 {
		return ""
	}
	var keys []string
	for k := range w {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("\n  workload stand-in is holding back:")
	for _, k := range keys {
		fmt.Fprintf(&b, "\n    %s: %s", k, w[k])
	}
	return b.String()
}

// Poll is harness.Poll that also fails fast when a child process died.
func (c *Cluster) Poll(ctx context.Context, timeout time.Duration, what string, check func() (bool, string, error)) error {
	return Poll(ctx, timeout, what+" on cluster "+c.Name, func() (bool, string, error) {
		if err := c.CheckProcesses(); err != nil {
			return false, "", err
		}
		return check()
	})
}

func shortSHA(s string) string {
	if s == "" {
		return "any revision"
	}
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// ListKustomizations returns every Kustomization in the cluster.
func (c *Cluster) ListKustomizations(ctx context.Context) ([]kustomizev1.Kustomization, error) {
	var l kustomizev1.KustomizationList
	if err := c.Client.List(ctx, &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}

// SourceRevision returns the artifact revision of a GitRepository.
func (c *Cluster) SourceRevision(ctx context.Context, ns, name string) (string, error) {
	var gr sourcev1.GitRepository
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &gr); err != nil {
		return "", err
	}
	if gr.Status.Artifact == nil {
		return "", nil
	}
	return gr.Status.Artifact.Revision, nil
}

// Transition is one observed change of a Kustomization's Ready condition.
type Transition struct {
	At       time.Time // when the harness saw it (watch event)
	KS       KS
	Ready    metav1.ConditionStatus
	Revision string
	Message  string
}

// Recorder watches Kustomizations and records every change of Ready status
// or applied revision, with the time the watch event arrived.
type Recorder struct {
	mu  sync.Mutex
	log []Transition
	cur map[KS]Transition
}

// Record starts recording until ctx ends.
func (c *Cluster) Record(ctx context.Context) (*Recorder, error) {
	wc, err := client.NewWithWatch(c.Config, client.Options{Scheme: Scheme})
	if err != nil {
		return nil, err
	}
	r := &Recorder{cur: map[KS]Transition{}}
	go func() {
		for ctx.Err() == nil {
			w, err := wc.Watch(ctx, &kustomizev1.KustomizationList{})
			if err != nil {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			for ev := range w.ResultChan() {
				if ev.Type == watch.Error {
					break
				}
				ks, ok := ev.Object.(*kustomizev1.Kustomization)
				if !ok {
					continue
				}
				r.observe(ks, ev.Type == watch.Deleted)
			}
			w.Stop()
		}
	}()
	return r, nil
}

func (r *Recorder) observe(ks *kustomizev1.Kustomization, deleted bool) {
	now := time.Now()
	k := KS{ks.Namespace, ks.Name}
	st := ksState(ks)
	t := Transition{At: now, KS: k, Ready: st.Ready, Revision: st.LastApplied, Message: st.Message}
	if deleted {
		t.Ready, t.Message = "Deleted", "deleted"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	prev, seen := r.cur[k]
	if seen && prev.Ready == t.Ready && prev.Revision == t.Revision {
		return
	}
	r.cur[k] = t
	r.log = append(r.log, t)
}

// Log returns the recorded transitions in order.
func (r *Recorder) Log() []Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Transition(nil), r.log...)
}

// FirstReady returns when k was first seen Ready with a revision of commit
// ("" for any) at or after since.
func (r *Recorder) FirstReady(k KS, commit string, since time.Time) (time.Time, bool) {
	for _, t := range r.Log() {
		if t.KS == k && t.Ready == metav1.ConditionTrue && !t.At.Before(since) &&
			(commit == "" || strings.HasSuffix(t.Revision, "sha1:"+commit)) {
			return t.At, true
		}
	}
	return time.Time{}, false
}

// Format renders the log for failure messages.
func (r *Recorder) Format() string {
	var b strings.Builder
	for _, t := range r.Log() {
		fmt.Fprintf(&b, "  %s %-50s Ready=%-7s rev=%s %s\n", t.At.Format("15:04:05.000"), t.KS, t.Ready, shortRev(t.Revision), truncate(t.Message, 160))
	}
	return b.String()
}

func shortRev(r string) string {
	if i := strings.Index(r, "sha1:"); i >= 0 && len(r) > i+5+8 {
		return r[:i+5+8]
	}
	return r
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func schemaGVK(apiVersion, kind string) schema.GroupVersionKind {
	gv, _ := schema.ParseGroupVersion(apiVersion)
	return gv.WithKind(kind)
}

// RequestReconcile asks kustomize-controller to reconcile k now, as
// `flux reconcile kustomization` does (reconcile.fluxcd.io/requestedAt).
func (c *Cluster) RequestReconcile(ctx context.Context, k KS) error {
	var ks kustomizev1.Kustomization
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: k.Namespace, Name: k.Name}, &ks); err != nil {
		return err
	}
	patch := client.MergeFrom(ks.DeepCopy())
	if ks.Annotations == nil {
		ks.Annotations = map[string]string{}
	}
	ks.Annotations[meta.ReconcileRequestAnnotation] = time.Now().Format(time.RFC3339Nano)
	return c.Client.Patch(ctx, &ks, patch)
}
