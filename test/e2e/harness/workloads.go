package harness

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Outcome is what the workload stand-in does with a Job whose pod could start.
type Outcome int

const (
	// Succeed marks the Job Complete.
	Succeed Outcome = iota
	// Fail marks the Job Failed (BackoffLimitExceeded).
	Fail
	// Hold leaves the Job running.
	Hold
)

// WorkloadPolicy configures the workload stand-in per scenario. The zero
// value completes every Job, makes every Deployment available, binds every
// PVC and makes every Certificate and issuer Ready, in each case only once
// what a real pod would need exists (see PodBlockers).
type WorkloadPolicy struct {
	// JobOutcome decides a Job's fate once its pod could start. nil: Succeed.
	JobOutcome func(job *batchv1.Job) (Outcome, string)
	// OnJobComplete runs once when a Job is marked Complete: what the job's
	// container would have done to the cluster (e.g. create a Secret).
	OnJobComplete func(ctx context.Context, c client.Client, job *batchv1.Job) error
	// DeploymentAvailable can hold a Deployment unavailable. nil: available.
	DeploymentAvailable func(d *appsv1.Deployment) (bool, string)
	// PVCBound can leave a PVC Pending. nil: bound.
	PVCBound func(pvc *corev1.PersistentVolumeClaim) bool
	// CertificateReady can hold a Certificate not Ready. nil: Ready.
	CertificateReady func(cert *unstructured.Unstructured) (bool, string)
	// JobBackoffBase is the delay before the first retry of a failed pod;
	// it doubles per failure up to 6 minutes, like the job controller's
	// (default 10s, the job controller's).
	JobBackoffBase time.Duration
}

// WorkloadStandIn plays the parts of the job and deployment controllers and
// the kubelet (pods never run), of a storage provisioner (PVCs bind) and of
// cert-manager's controller (Certificates, Issuers and ClusterIssuers become
// Ready, a Certificate's TLS Secret is created). It writes only through the
// status subresource, except the Secrets cert-manager and jobs would create.
type WorkloadStandIn struct {
	c       *Cluster
	mu      sync.Mutex
	policy  WorkloadPolicy
	handled map[string]bool // job UIDs whose OnJobComplete ran
	waiting map[string]string
	retryAt map[string]time.Time // job UID -> when its next pod runs
}

func newWorkloadStandIn(c *Cluster, p WorkloadPolicy) *WorkloadStandIn {
	return &WorkloadStandIn{c: c, policy: p, handled: map[string]bool{}, waiting: map[string]string{}, retryAt: map[string]time.Time{}}
}

// SetPolicy replaces the policy; it applies from the next pass.
func (w *WorkloadStandIn) SetPolicy(p WorkloadPolicy) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.policy = p
}

// Policy returns the current policy.
func (w *WorkloadStandIn) Policy() WorkloadPolicy {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.policy
}

// Waiting returns, per object ("Kind ns/name"), why the stand-in is holding
// it back (missing ConfigMaps, Secrets, unbound PVCs...).
func (w *WorkloadStandIn) Waiting() map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]string{}
	for k, v := range w.waiting {
		out[k] = v
	}
	return out
}

func (w *WorkloadStandIn) setWaiting(key, why string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if why == "" {
		delete(w.waiting, key)
		return
	}
	if w.waiting[key] != why {
		w.c.events.add("workload-standin", key+" waiting: "+why)
	}
	w.waiting[key] = why
}

func (w *WorkloadStandIn) logf(format string, args ...any) {
	w.c.events.add("workload-standin", fmt.Sprintf(format, args...))
}

func (w *WorkloadStandIn) run(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		w.pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *WorkloadStandIn) pass(ctx context.Context) {
	p := w.Policy()
	report := func(what string, err error) {
		if err != nil && ctx.Err() == nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			w.logf("%s: %v", what, err)
		}
	}
	var pvcs corev1.PersistentVolumeClaimList
	if err := w.c.Client.List(ctx, &pvcs); err == nil {
		for i := range pvcs.Items {
			report("PVC "+pvcs.Items[i].Namespace+"/"+pvcs.Items[i].Name, w.pvc(ctx, p, &pvcs.Items[i]))
		}
	}
	for _, kind := range []string{"ClusterIssuer", "Issuer", "Certificate"} {
		var list unstructured.UnstructuredList
		list.SetGroupVersionKind(schema.GroupVersionKind{Group: "cert-manager.io", Version: "v1", Kind: kind + "List"})
		if err := w.c.Client.List(ctx, &list); err == nil {
			for i := range list.Items {
				report(kind+" "+list.Items[i].GetNamespace()+"/"+list.Items[i].GetName(), w.certManager(ctx, p, &list.Items[i]))
			}
		}
	}
	var jobs batchv1.JobList
	if err := w.c.Client.List(ctx, &jobs); err == nil {
		for i := range jobs.Items {
			report("Job "+jobs.Items[i].Namespace+"/"+jobs.Items[i].Name, w.job(ctx, p, &jobs.Items[i]))
		}
	}
	var deps appsv1.DeploymentList
	if err := w.c.Client.List(ctx, &deps); err == nil {
		for i := range deps.Items {
			report("Deployment "+deps.Items[i].Namespace+"/"+deps.Items[i].Name, w.deployment(ctx, p, &deps.Items[i]))
		}
	}
}

// PodBlockers lists what would keep a pod from this template from starting
// in namespace ns: a missing ServiceAccount (the pod would not even be
// created), missing non-optional ConfigMaps, Secrets or keys in them
// (CreateContainerConfigError), missing image pull Secrets (the images are
// taken to be private), and PVCs that do not exist or are not Bound.
func PodBlockers(ctx context.Context, c client.Client, ns string, spec *corev1.PodSpec) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	cms := map[string]*corev1.ConfigMap{}
	secrets := map[string]*corev1.Secret{}
	getCM := func(name string) *corev1.ConfigMap {
		if cm, ok := cms[name]; ok {
			return cm
		}
		cm := &corev1.ConfigMap{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, cm); err != nil {
			cm = nil
		}
		cms[name] = cm
		return cm
	}
	getSecret := func(name string) *corev1.Secret {
		if s, ok := secrets[name]; ok {
			return s
		}
		s := &corev1.Secret{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
			s = nil
		}
		secrets[name] = s
		return s
	}
	needCM := func(name, key string, optional *bool) {
		if ptr.Deref(optional, false) {
			return
		}
		cm := getCM(name)
		if cm == nil {
			add(fmt.Sprintf("ConfigMap %s/%s not found", ns, name))
			return
		}
		if key != "" {
			_, a := cm.Data[key]
			_, b := cm.BinaryData[key]
			if !a && !b {
				add(fmt.Sprintf("key %q not in ConfigMap %s/%s", key, ns, name))
			}
		}
	}
	needSecret := func(name, key string, optional *bool) {
		if ptr.Deref(optional, false) {
			return
		}
		s := getSecret(name)
		if s == nil {
			add(fmt.Sprintf("Secret %s/%s not found", ns, name))
			return
		}
		if key != "" {
			if _, ok := s.Data[key]; !ok {
				add(fmt.Sprintf("key %q not in Secret %s/%s", key, ns, name))
			}
		}
	}
	sa := spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: sa}, &corev1.ServiceAccount{}); err != nil {
		add(fmt.Sprintf("ServiceAccount %s/%s not found", ns, sa))
	}
	// The kubelet pulls without credentials when an image pull Secret is
	// missing: a private registry refuses it (ImagePullBackOff).
	for _, ps := range spec.ImagePullSecrets {
		if getSecret(ps.Name) == nil {
			add(fmt.Sprintf("image pull Secret %s/%s not found (ImagePullBackOff from a private registry)", ns, ps.Name))
		}
	}
	for _, v := range spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			needCM(v.ConfigMap.Name, "", v.ConfigMap.Optional)
			for _, it := range v.ConfigMap.Items {
				needCM(v.ConfigMap.Name, it.Key, v.ConfigMap.Optional)
			}
		case v.Secret != nil:
			needSecret(v.Secret.SecretName, "", v.Secret.Optional)
			for _, it := range v.Secret.Items {
				needSecret(v.Secret.SecretName, it.Key, v.Secret.Optional)
			}
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				if src.ConfigMap != nil {
					needCM(src.ConfigMap.Name, "", src.ConfigMap.Optional)
					for _, it := range src.ConfigMap.Items {
						needCM(src.ConfigMap.Name, it.Key, src.ConfigMap.Optional)
					}
				}
				if src.Secret != nil {
					needSecret(src.Secret.Name, "", src.Secret.Optional)
					for _, it := range src.Secret.Items {
						needSecret(src.Secret.Name, it.Key, src.Secret.Optional)
					}
				}
			}
		case v.PersistentVolumeClaim != nil:
			pvc := &corev1.PersistentVolumeClaim{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: v.PersistentVolumeClaim.ClaimName}, pvc); err != nil {
				add(fmt.Sprintf("PersistentVolumeClaim %s/%s not found", ns, v.PersistentVolumeClaim.ClaimName))
			} else if pvc.Status.Phase != corev1.ClaimBound {
				add(fmt.Sprintf("PersistentVolumeClaim %s/%s not Bound", ns, v.PersistentVolumeClaim.ClaimName))
			}
		}
	}
	containers := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for _, ctr := range containers {
		for _, ef := range ctr.EnvFrom {
			if ef.ConfigMapRef != nil {
				needCM(ef.ConfigMapRef.Name, "", ef.ConfigMapRef.Optional)
			}
			if ef.SecretRef != nil {
				needSecret(ef.SecretRef.Name, "", ef.SecretRef.Optional)
			}
		}
		for _, e := range ctr.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				needCM(r.Name, r.Key, r.Optional)
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				needSecret(r.Name, r.Key, r.Optional)
			}
		}
	}
	sort.Strings(out)
	return out
}

func hasJobCondition(job *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func (w *WorkloadStandIn) job(ctx context.Context, p WorkloadPolicy, job *batchv1.Job) error {
	key := "Job " + job.Namespace + "/" + job.Name
	if job.DeletionTimestamp != nil || ptr.Deref(job.Spec.Suspend, false) {
		w.setWaiting(key, "")
		return nil
	}
	if hasJobCondition(job, batchv1.JobComplete) {
		w.setWaiting(key, "")
		w.mu.Lock()
		done := w.handled[string(job.UID)]
		w.handled[string(job.UID)] = true
		w.mu.Unlock()
		if !done && p.OnJobComplete != nil {
			if err := p.OnJobComplete(ctx, w.c.Client, job); err != nil {
				w.mu.Lock()
				delete(w.handled, string(job.UID))
				w.mu.Unlock()
				return fmt.Errorf("OnJobComplete: %w", err)
			}
		}
		return nil
	}
	if hasJobCondition(job, batchv1.JobFailed) {
		w.setWaiting(key, "")
		return nil
	}
	now := metav1.Now()
	blockers := PodBlockers(ctx, w.c.Client, job.Namespace, &job.Spec.Template.Spec)
	if len(blockers) > 0 {
		w.setWaiting(key, strings.Join(blockers, "; "))
		if job.Status.StartTime == nil {
			// The job controller would have created a pod that cannot start.
			job.Status.StartTime = &now
			job.Status.Active = 1
			return w.c.Client.Status().Update(ctx, job)
		}
		return nil
	}
	w.mu.Lock()
	retryAt := w.retryAt[string(job.UID)]
	w.mu.Unlock()
	if time.Now().Before(retryAt) {
		w.setWaiting(key, fmt.Sprintf("pod failed %d time(s); next pod at %s (job backoff)", job.Status.Failed, retryAt.Format("15:04:05")))
		return nil
	}
	outcome, msg := Succeed, ""
	if p.JobOutcome != nil {
		outcome, msg = p.JobOutcome(job)
	}
	if outcome == Hold {
		w.setWaiting(key, "held by the scenario's policy: "+msg)
		if job.Status.StartTime == nil {
			job.Status.StartTime = &now
			job.Status.Active = 1
			return w.c.Client.Status().Update(ctx, job)
		}
		return nil
	}
	w.setWaiting(key, "")
	if job.Status.StartTime == nil {
		job.Status.StartTime = &now
	}
	if outcome == Fail {
		if msg == "" {
			msg = "pod failed"
		}
		job.Status.Failed++
		limit := ptr.Deref(job.Spec.BackoffLimit, 6)
		if job.Status.Failed <= limit {
			// The job controller starts another pod after a backoff.
			base := p.JobBackoffBase
			if base == 0 {
				base = 10 * time.Second
			}
			delay := base << (job.Status.Failed - 1)
			if delay > 6*time.Minute || delay <= 0 {
				delay = 6 * time.Minute
			}
			w.mu.Lock()
			w.retryAt[string(job.UID)] = time.Now().Add(delay)
			w.mu.Unlock()
			job.Status.Active = 1
			w.logf("Job %s/%s pod failed (%d/%d allowed retries): %s; retry in %s", job.Namespace, job.Name, job.Status.Failed, limit, msg, delay)
			w.setWaiting(key, fmt.Sprintf("pod failed: %s; retry in %s", msg, delay))
			return w.c.Client.Status().Update(ctx, job)
		}
		job.Status.Active = 0
		job.Status.Ready = ptr.To[int32](0)
		msg = "Job has reached the specified backoff limit; last pod: " + msg
		job.Status.Conditions = append(job.Status.Conditions,
			batchv1.JobCondition{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: msg, LastProbeTime: now, LastTransitionTime: now},
			batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: msg, LastProbeTime: now, LastTransitionTime: now})
		w.logf("Job %s/%s -> Failed: %s", job.Namespace, job.Name, msg)
		return w.c.Client.Status().Update(ctx, job)
	}
	job.Status.Active = 0
	job.Status.Ready = ptr.To[int32](0)
	completions := ptr.Deref(job.Spec.Completions, 1)
	job.Status.Succeeded = completions
	job.Status.CompletionTime = &now
	if job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion && completions > 0 {
		job.Status.CompletedIndexes = fmt.Sprintf("0-%d", completions-1)
		if completions == 1 {
			job.Status.CompletedIndexes = "0"
		}
	}
	job.Status.Conditions = append(job.Status.Conditions,
		batchv1.JobCondition{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: "CompletionsReached", Message: "Reached expected number of succeeded pods", LastProbeTime: now, LastTransitionTime: now},
		batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: "CompletionsReached", Message: "Reached expected number of succeeded pods", LastProbeTime: now, LastTransitionTime: now})
	w.logf("Job %s/%s (uid %s) -> Complete", job.Namespace, job.Name, job.UID)
	return w.c.Client.Status().Update(ctx, job)
}

func setDeployCond(d *appsv1.Deployment, t appsv1.DeploymentConditionType, s corev1.ConditionStatus, reason, msg string) {
	now := metav1.Now()
	for i := range d.Status.Conditions {
		c := &d.Status.Conditions[i]
		if c.Type == t {
			if c.Status != s {
				c.LastTransitionTime = now
			}
			c.Status, c.Reason, c.Message, c.LastUpdateTime = s, reason, msg, now
			return
		}
	}
	d.Status.Conditions = append(d.Status.Conditions, appsv1.DeploymentCondition{Type: t, Status: s, Reason: reason, Message: msg, LastUpdateTime: now, LastTransitionTime: now})
}

func (w *WorkloadStandIn) deployment(ctx context.Context, p WorkloadPolicy, d *appsv1.Deployment) error {
	key := "Deployment " + d.Namespace + "/" + d.Name
	if d.DeletionTimestamp != nil {
		w.setWaiting(key, "")
		return nil
	}
	replicas := ptr.Deref(d.Spec.Replicas, 1)
	blockers := PodBlockers(ctx, w.c.Client, d.Namespace, &d.Spec.Template.Spec)
	if p.DeploymentAvailable != nil {
		if ok, why := p.DeploymentAvailable(d); !ok {
			blockers = append(blockers, "held by the scenario's policy: "+why)
		}
	}
	available := len(blockers) == 0 || replicas == 0
	w.setWaiting(key, strings.Join(blockers, "; "))
	want := d.DeepCopy()
	want.Status.ObservedGeneration = d.Generation
	want.Status.Replicas = replicas
	want.Status.UpdatedReplicas = replicas
	if available {
		want.Status.ReadyReplicas, want.Status.AvailableReplicas, want.Status.UnavailableReplicas = replicas, replicas, 0
		setDeployCond(want, appsv1.DeploymentAvailable, corev1.ConditionTrue, "MinimumReplicasAvailable", "Deployment has minimum availability.")
		setDeployCond(want, appsv1.DeploymentProgressing, corev1.ConditionTrue, "NewReplicaSetAvailable", fmt.Sprintf("ReplicaSet %q has successfully progressed.", d.Name+"-standin"))
	} else {
		want.Status.ReadyReplicas, want.Status.AvailableReplicas, want.Status.UnavailableReplicas = 0, 0, replicas
		setDeployCond(want, appsv1.DeploymentAvailable, corev1.ConditionFalse, "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
		setDeployCond(want, appsv1.DeploymentProgressing, corev1.ConditionTrue, "ReplicaSetUpdated", fmt.Sprintf("ReplicaSet %q is progressing.", d.Name+"-standin"))
	}
	if sameDeployStatus(d, want) {
		return nil
	}
	w.logf("Deployment %s/%s generation %d -> available=%v %s", d.Namespace, d.Name, d.Generation, available, strings.Join(blockers, "; "))
	return w.c.Client.Status().Update(ctx, want)
}

func sameDeployStatus(a, b *appsv1.Deployment) bool {
	if a.Status.ObservedGeneration != b.Status.ObservedGeneration || a.Status.Replicas != b.Status.Replicas ||
		a.Status.UpdatedReplicas != b.Status.UpdatedReplicas || a.Status.ReadyReplicas != b.Status.ReadyReplicas ||
		a.Status.AvailableReplicas != b.Status.AvailableReplicas || len(a.Status.Conditions) != len(b.Status.Conditions) {
		return false
	}
	for i := range a.Status.Conditions {
		x, y := a.Status.Conditions[i], b.Status.Conditions[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason {
			return false
		}
	}
	return true
}

func (w *WorkloadStandIn) pvc(ctx context.Context, p WorkloadPolicy, pvc *corev1.PersistentVolumeClaim) error {
	if pvc.DeletionTimestamp != nil || pvc.Status.Phase == corev1.ClaimBound {
		return nil
	}
	if p.PVCBound != nil && !p.PVCBound(pvc) {
		w.setWaiting("PersistentVolumeClaim "+pvc.Namespace+"/"+pvc.Name, "held Pending by the scenario's policy")
		return nil
	}
	w.setWaiting("PersistentVolumeClaim "+pvc.Namespace+"/"+pvc.Name, "")
	pvc.Status.Phase = corev1.ClaimBound
	pvc.Status.AccessModes = pvc.Spec.AccessModes
	if q, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
		pvc.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: q}
	} else {
		pvc.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
	}
	w.logf("PVC %s/%s -> Bound", pvc.Namespace, pvc.Name)
	return w.c.Client.Status().Update(ctx, pvc)
}

func condStatus(u *unstructured.Unstructured, t string) (string, bool) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == t {
			s, _ := m["status"].(string)
			return s, true
		}
	}
	return "", false
}

func (w *WorkloadStandIn) certManager(ctx context.Context, p WorkloadPolicy, u *unstructured.Unstructured) error {
	if u.GetDeletionTimestamp() != nil {
		return nil
	}
	kind := u.GetKind()
	key := kind + " " + strings.TrimPrefix(u.GetNamespace()+"/"+u.GetName(), "/")
	ready, msg, reason := true, "", ""
	switch kind {
	case "Certificate":
		reason, msg = "Ready", "stand-in: Certificate is up to date and has not expired"
		iKind, _, _ := unstructured.NestedString(u.Object, "spec", "issuerRef", "kind")
		iName, _, _ := unstructured.NestedString(u.Object, "spec", "issuerRef", "name")
		if iKind == "" {
			iKind = "Issuer"
		}
		issuer := &unstructured.Unstructured{}
		issuer.SetGroupVersionKind(schema.GroupVersionKind{Group: "cert-manager.io", Version: "v1", Kind: iKind})
		ns := u.GetNamespace()
		if iKind == "ClusterIssuer" {
			ns = ""
		}
		if err := w.c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: iName}, issuer); err != nil {
			ready, reason, msg = false, "Pending", fmt.Sprintf("stand-in: issuer %s %s: %v", iKind, iName, err)
		} else if s, _ := condStatus(issuer, "Ready"); s != "True" {
			ready, reason, msg = false, "Pending", fmt.Sprintf("stand-in: issuer %s %s is not Ready", iKind, iName)
		}
		if ready && p.CertificateReady != nil {
			if ok, why := p.CertificateReady(u); !ok {
				ready, reason, msg = false, "Pending", "stand-in: held by the scenario's policy: "+why
			}
		}
		if ready {
			if err := w.tlsSecret(ctx, u); err != nil {
				return err
			}
		}
	default:
		reason, msg = "ACMEAccountRegistered", "stand-in: The ACME account was registered with the ACME server"
	}
	if ready {
		w.setWaiting(key, "")
	} else {
		w.setWaiting(key, msg)
	}
	status := "False"
	if ready {
		status = "True"
	}
	cur, _ := condStatus(u, "Ready")
	og, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	if cur == status && (kind != "Certificate" || og == u.GetGeneration()) {
		return nil
	}
	now := metav1.Now().UTC().Format(time.RFC3339)
	cond := map[string]any{"type": "Ready", "status": status, "reason": reason, "message": msg,
		"lastTransitionTime": now, "observedGeneration": u.GetGeneration()}
	if err := unstructured.SetNestedSlice(u.Object, []any{cond}, "status", "conditions"); err != nil {
		return err
	}
	if kind == "Certificate" {
		_ = unstructured.SetNestedField(u.Object, u.GetGeneration(), "status", "observedGeneration")
	}
	w.logf("%s -> Ready=%s %s", key, status, msg)
	return w.c.Client.Status().Update(ctx, u)
}

// tlsSecret creates the Secret a Certificate names, as cert-manager would
// (with placeholder key material: nothing serves TLS here).
func (w *WorkloadStandIn) tlsSecret(ctx context.Context, cert *unstructured.Unstructured) error {
	name, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
	if name == "" {
		return nil
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: cert.GetNamespace(),
			Annotations: map[string]string{"cert-manager.io/certificate-name": cert.GetName()}},
		Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": []byte("stand-in"), "tls.key": []byte("stand-in")},
	}
	if err := w.c.Client.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}
