package harness

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/meta"
	authorizationv1 "k8s.io/api/authorization/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ChartCRDs lists, per chart name, the CRDs the chart installs. The
// helm-controller stand-in only marks a HelmRelease of that chart Ready once
// all of them are Established (the harness installs them from the modules;
// no chart is ever downloaded or rendered).
var ChartCRDs = map[string][]string{
	"cert-manager": {
		"certificates.cert-manager.io",
		"certificaterequests.cert-manager.io",
		"issuers.cert-manager.io",
		"clusterissuers.cert-manager.io",
		"orders.acme.cert-manager.io",
		"challenges.acme.cert-manager.io",
	},
}

// ChartExtras are objects a chart brings that tenants depend on, applied by
// the stand-in when it marks the release Ready. For cert-manager these are
// the aggregated ClusterRoles of deploy/charts/cert-manager/templates/rbac.yaml
// (global.rbac.aggregateClusterRoles=true, the chart default): without them
// the built-in "admin" ClusterRole cannot create Certificates, and tenant
// Kustomizations impersonating a ServiceAccount bound to "admin" would be
// refused. Names assume the release is called "cert-manager".
var ChartExtras = map[string]string{
	"cert-manager": `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: cert-manager-cluster-view
  labels:
    app.kubernetes.io/name: cert-manager
    rbac.authorization.k8s.io/aggregate-to-cluster-reader: "true"
rules:
- apiGroups: ["cert-manager.io"]
  resources: ["clusterissuers"]
  verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: cert-manager-view
  labels:
    app.kubernetes.io/name: cert-manager
    rbac.authorization.k8s.io/aggregate-to-view: "true"
    rbac.authorization.k8s.io/aggregate-to-edit: "true"
    rbac.authorization.k8s.io/aggregate-to-admin: "true"
    rbac.authorization.k8s.io/aggregate-to-cluster-reader: "true"
rules:
- apiGroups: ["cert-manager.io"]
  resources: ["certificates", "certificaterequests", "issuers"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["acme.cert-manager.io"]
  resources: ["challenges", "orders"]
  verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: cert-manager-edit
  labels:
    app.kubernetes.io/name: cert-manager
    rbac.authorization.k8s.io/aggregate-to-edit: "true"
    rbac.authorization.k8s.io/aggregate-to-admin: "true"
rules:
- apiGroups: ["cert-manager.io"]
  resources: ["certificates", "certificaterequests", "issuers"]
  verbs: ["create", "delete", "deletecollection", "patch", "update"]
- apiGroups: ["cert-manager.io"]
  resources: ["certificates/status"]
  verbs: ["update"]
- apiGroups: ["acme.cert-manager.io"]
  resources: ["challenges"]
  verbs: ["delete", "deletecollection", "patch", "update"]
- apiGroups: ["acme.cert-manager.io"]
  resources: ["orders"]
  verbs: ["delete", "deletecollection"]
`,
}

// HelmStandIn plays helm-controller's part (helm-controller is not on the
// module proxy here). It never renders or installs a chart. For each
// HelmRelease it checks what helm-controller would check before installing
// (the chart source exists in an allowed namespace) and marks the release
// Ready once the CRDs its chart would bring are Established; otherwise it
// sets Ready=False naming what is missing.
type HelmStandIn struct {
	c                   *Cluster
	noCrossNamespaceRef bool
	defaultAccount      string
}

func newHelmStandIn(c *Cluster, noCross bool, defaultAccount string) *HelmStandIn {
	return &HelmStandIn{c: c, noCrossNamespaceRef: noCross, defaultAccount: defaultAccount}
}

// chartNeeds are what installing a chart like cert-manager's takes: its
// CRDs and cluster RBAC, and its workloads in the release namespace ("" is
// filled with it).
var chartNeeds = []authorizationv1.ResourceAttributes{
	{Verb: "create", Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"},
	{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "clusterroles"},
	{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"},
	{Verb: "create", Group: "apps", Resource: "deployments"},
}

// accountProblems asks the real API server (SubjectAccessReview) whether
// the account helm-controller would impersonate for hr may install a chart:
// hr's serviceAccountName, or with --default-service-account that account
// in hr's namespace. With neither, helm-controller acts as itself.
func (h *HelmStandIn) accountProblems(ctx context.Context, hr *helmv2.HelmRelease) []string {
	sa := hr.Spec.ServiceAccountName
	if sa == "" {
		sa = h.defaultAccount
	}
	if sa == "" {
		return nil
	}
	user := "system:serviceaccount:" + hr.Namespace + ":" + sa
	var probs []string
	for _, need := range chartNeeds {
		attrs := need
		if attrs.Resource == "deployments" {
			attrs.Namespace = hr.GetReleaseNamespace()
		}
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + hr.Namespace, "system:authenticated"},
			ResourceAttributes: &attrs,
		}}
		if err := h.c.Client.Create(ctx, sar); err != nil {
			probs = append(probs, fmt.Sprintf("checking what %s may do: %v", user, err))
			break
		}
		if !sar.Status.Allowed {
			where := "at cluster scope"
			if attrs.Namespace != "" {
				where = "in namespace " + attrs.Namespace
			}
			probs = append(probs, fmt.Sprintf("impersonating %s, which cannot %s %s.%s %s", user, attrs.Verb, attrs.Resource, attrs.Group, where))
		}
	}
	return probs
}

func (h *HelmStandIn) logf(format string, args ...any) {
	h.c.events.add("helm-standin", fmt.Sprintf(format, args...))
}

func (h *HelmStandIn) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		var list helmv2.HelmReleaseList
		if err := h.c.Client.List(ctx, &list); err == nil {
			for i := range list.Items {
				if err := h.reconcile(ctx, &list.Items[i]); err != nil && ctx.Err() == nil {
					h.logf("HelmRelease %s/%s: %v", list.Items[i].Namespace, list.Items[i].Name, err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func chartName(hr *helmv2.HelmRelease) string {
	if hr.Spec.Chart != nil {
		return hr.Spec.Chart.Spec.Chart
	}
	if hr.Spec.ChartRef != nil {
		return hr.Spec.ChartRef.Name
	}
	return ""
}

func (h *HelmStandIn) problems(ctx context.Context, hr *helmv2.HelmRelease) []string {
	var probs []string
	if hr.Spec.Chart != nil {
		ref := hr.Spec.Chart.Spec.SourceRef
		ns := ref.Namespace
		if ns == "" {
			ns = hr.Namespace
		}
		if h.noCrossNamespaceRef && ns != hr.Namespace {
			probs = append(probs, fmt.Sprintf("cannot access %s/%s/%s: cross-namespace references are blocked (helm-controller --no-cross-namespace-refs=true)", ref.Kind, ns, ref.Name))
		} else {
			src := &metav1.PartialObjectMetadata{}
			src.SetGroupVersionKind(schemaGVK("source.toolkit.fluxcd.io/v1", ref.Kind))
			if err := h.c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, src); err != nil {
				probs = append(probs, fmt.Sprintf("chart source %s/%s/%s: %v", ref.Kind, ns, ref.Name, err))
			}
		}
	}
	probs = append(probs, h.accountProblems(ctx, hr)...)
	var missing []string
	for _, name := range ChartCRDs[chartName(hr)] {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := h.c.Client.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			missing = append(missing, name)
			continue
		}
		ok := false
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				ok = true
			}
		}
		if !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		probs = append(probs, "CRDs not established: "+strings.Join(missing, ", "))
	}
	return probs
}

func (h *HelmStandIn) reconcile(ctx context.Context, hr *helmv2.HelmRelease) error {
	if hr.DeletionTimestamp != nil || hr.Spec.Suspend {
		return nil
	}
	probs := h.problems(ctx, hr)
	ready := len(probs) == 0
	cond := metav1.Condition{Type: meta.ReadyCondition, ObservedGeneration: hr.Generation}
	if ready {
		if extras := ChartExtras[chartName(hr)]; extras != "" {
			if err := h.c.ApplyYAML(ctx, extras); err != nil {
				return fmt.Errorf("applying chart extras: %w", err)
			}
		}
		cond.Status, cond.Reason = metav1.ConditionTrue, helmv2.InstallSucceededReason
		cond.Message = fmt.Sprintf("stand-in: Helm install succeeded for release %s/%s with chart %s", hr.GetReleaseNamespace(), hr.GetReleaseName(), chartName(hr))
	} else {
		cond.Status, cond.Reason = metav1.ConditionFalse, helmv2.InstallFailedReason
		cond.Message = "stand-in: " + strings.Join(probs, "; ")
	}
	old := apimeta.FindStatusCondition(hr.Status.Conditions, meta.ReadyCondition)
	if old != nil && old.Status == cond.Status && old.Message == cond.Message && hr.Status.ObservedGeneration == hr.Generation {
		return nil
	}
	hr.Status.ObservedGeneration = hr.Generation
	hr.Status.LastAttemptedGeneration = hr.Generation
	apimeta.SetStatusCondition(&hr.Status.Conditions, cond)
	rel := cond
	rel.Type = helmv2.ReleasedCondition
	apimeta.SetStatusCondition(&hr.Status.Conditions, rel)
	h.logf("HelmRelease %s/%s Ready=%s: %s", hr.Namespace, hr.Name, cond.Status, cond.Message)
	return h.c.Client.Status().Update(ctx, hr)
}
