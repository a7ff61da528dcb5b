package generator

import (
	"fmt"
	"path"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kusttypes "sigs.k8s.io/kustomize/api/types"
)

// Names of the cluster-admin Kustomizations in flux-system.
const (
	FluxSystem           = "flux-system"
	PlatformCertManager  = "platform-cert-manager"
	PlatformIssuers      = "platform-issuers"
	tenantKustomizPrefix = "tenant-"
)

// TenantKustomization is the name of the cluster-admin Kustomization that
// applies tenants/<namespace>.
func TenantKustomization(namespace string) string { return tenantKustomizPrefix + namespace }

// StageKustomization is the name of a deployment's stage Kustomization.
func StageKustomization(name, stage string) string { return "fleio-" + name + "-" + stage }

func managedLabels(extra map[string]string) map[string]string {
	l := map[string]string{"app.kubernetes.io/managed-by": "fleiogen"}
	for k, v := range extra {
		l[k] = v
	}
	return l
}

// cluster renders clusters/<cluster>/: runtime-info, the platform and
// tenant Kustomizations, and the README with the rollout graph.
func (r *renderer) cluster(c *ClusterModel) {
	dir := "clusters/" + c.Name
	info := &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name: RuntimeInfo, Namespace: FluxSystem,
			Labels:      map[string]string{"toolkit.fluxcd.io/runtime": "true", "app.kubernetes.io/managed-by": "fleiogen"},
			Annotations: map[string]string{ssaAnnotation: "Merge"},
		},
		Data: RuntimeValues(c),
	}
	r.yaml(dir+"/runtime-info.yaml", info)

	var platform []any
	if c.CertManager == CertManagerInstall {
		platform = append(platform, fluxKustomization(PlatformCertManager, FluxSystem, ksOptions{
			Path: "./components/platform/cert-manager", SourceName: FluxSystem, ServiceAccount: ClusterReconciler,
			Wait: true, Timeout: 10 * time.Minute, Interval: time.Hour, Substitute: true,
			Labels: managedLabels(nil),
		}))
	}
	// No wait on the issuers: kstatus reads a ClusterIssuer's Ready
	// condition, and one deployment's ACME account failing (a bad email,
	// a rate limit) would hold back every tenant of the cluster. The
	// deployment's own Certificate, health-checked by its app stage, shows
	// its issuer's trouble there. What the tenants need from this stage is
	// the order: cert-manager's CRDs, then the issuers, then Certificates.
	issuers := ksOptions{
		Path: "./components/platform/issuers/" + c.Name, SourceName: FluxSystem, ServiceAccount: ClusterReconciler,
		Timeout: 5 * time.Minute, Interval: time.Hour, Substitute: true,
		Labels: managedLabels(nil),
	}
	if c.CertManager == CertManagerInstall {
		issuers.DependsOn = []string{PlatformCertManager}
	}
	// A cluster that runs no tenant has no ClusterIssuers, and
	// kustomize refuses a kustomization.yaml without resources.
	if len(c.Deployments) > 0 {
		platform = append(platform, fluxKustomization(PlatformIssuers, FluxSystem, issuers))
	}
	if len(platform) > 0 {
		r.yaml(dir+"/platform.yaml", platform...)
	}

	var tenants []any
	for _, ns := range c.Tenants {
		tenants = append(tenants, fluxKustomization(TenantKustomization(ns), FluxSystem, ksOptions{
			Path: "./tenants/" + ns, SourceName: FluxSystem, ServiceAccount: ClusterReconciler,
			DependsOn:    []string{PlatformIssuers},
			HealthChecks: []meta.NamespacedObjectKindReference{{APIVersion: sourcev1.GroupVersion.String(), Kind: sourcev1.GitRepositoryKind, Name: FleetSource, Namespace: ns}},
			Timeout:      5 * time.Minute, Interval: 10 * time.Minute, Substitute: true,
			Labels: managedLabels(map[string]string{"toolkit.fluxcd.io/tenant": ns}),
		}))
	}
	if len(tenants) > 0 {
		r.yaml(dir+"/tenants.yaml", tenants...)
	}
	r.add(dir+"/README.md", []byte(ClusterReadme(r.m, c)))
}

// RuntimeValues returns the flux-runtime-info data of a cluster.
func RuntimeValues(c *ClusterModel) map[string]string {
	return map[string]string{
		"ENVIRONMENT":    c.Environment,
		"GIT_BRANCH":     c.Branch,
		"CLUSTER_NAME":   c.Name,
		"CLUSTER_DOMAIN": c.Domain,
	}
}

// platform renders components/platform: cert-manager and, per cluster, the
// ClusterIssuers of the deployments it runs.
func (r *renderer) platform() {
	install := false
	for _, c := range r.m.Clusters {
		install = install || c.CertManager == CertManagerInstall
	}
	if install {
		dir := "components/platform/cert-manager"
		ns := &corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: "cert-manager", Labels: managedLabels(nil), Annotations: map[string]string{pruneAnnotation: disabled}},
		}
		// The source and the release are the cluster admin's, in
		// flux-system, and the release names helm-controller's own account
		// (bound to cluster-admin by Flux's install): under the
		// multi-tenancy lockdown helm-controller runs with
		// --default-service-account, and a release that names no account
		// would impersonate one that cannot create cert-manager's CRDs.
		// Kept when a cluster switches to certManager: existing: pruning
		// the HelmRelease would uninstall cert-manager under every tenant's
		// Certificates.
		keep := func(name string) metav1.ObjectMeta {
			m := meta2(name, FluxSystem, managedLabels(nil))
			m.Annotations = map[string]string{pruneAnnotation: disabled}
			return m
		}
		repo := &sourcev1.HelmRepository{
			TypeMeta:   metav1.TypeMeta{APIVersion: sourcev1.GroupVersion.String(), Kind: sourcev1.HelmRepositoryKind},
			ObjectMeta: keep("jetstack"),
			Spec:       sourcev1.HelmRepositorySpec{URL: "https://charts.jetstack.io", Interval: metav1.Duration{Duration: 12 * time.Hour}},
		}
		release := &helmv2.HelmRelease{
			TypeMeta:   metav1.TypeMeta{APIVersion: helmv2.GroupVersion.String(), Kind: helmv2.HelmReleaseKind},
			ObjectMeta: keep("cert-manager"),
			Spec: helmv2.HelmReleaseSpec{
				Interval:           metav1.Duration{Duration: time.Hour},
				ServiceAccountName: "helm-controller",
				ReleaseName:        "cert-manager",
				TargetNamespace:    "cert-manager",
				StorageNamespace:   "cert-manager",
				Chart: &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{
					Chart: "cert-manager", Version: r.m.CertManager,
					SourceRef: helmv2.CrossNamespaceObjectReference{Kind: sourcev1.HelmRepositoryKind, Name: "jetstack"},
				}},
				Install: &helmv2.Install{CRDs: helmv2.CreateReplace, Remediation: &helmv2.InstallRemediation{Retries: 3}},
				Upgrade: &helmv2.Upgrade{CRDs: helmv2.CreateReplace, Remediation: &helmv2.UpgradeRemediation{Retries: 3}},
				Values:  &apiextensionsv1.JSON{Raw: []byte(`{"crds":{"enabled":true,"keep":true}}`)},
			},
		}
		r.yaml(dir+"/cert-manager.yaml", ns, repo, release)
		r.kustomization(dir, &kusttypes.Kustomization{Resources: []string{"cert-manager.yaml"}})
	}
	for _, c := range r.m.Clusters {
		if len(c.Deployments) == 0 {
			continue
		}
		// One file per cluster: a directory of one file per deployment
		// outgrows what a forge lists.
		dir := "components/platform/issuers/" + c.Name
		issuers := make([]any, 0, len(c.Deployments))
		for _, d := range c.Deployments {
			issuers = append(issuers, r.clusterIssuer(c, d))
		}
		r.yaml(dir+"/issuers.yaml", issuers...)
		r.kustomization(dir, &kusttypes.Kustomization{Resources: []string{"issuers.yaml"}})
	}
}

// clusterIssuer is the operator's fleio-<name>-acme-issuer: ACME for public
// hosts, self-signed for localhost and reserved names, and in environments
// with issuer: selfSigned.
func (r *renderer) clusterIssuer(c *ClusterModel, d *Deployment) *cmv1.ClusterIssuer {
	iss := &cmv1.ClusterIssuer{
		TypeMeta:   metav1.TypeMeta{APIVersion: cmv1.SchemeGroupVersion.String(), Kind: cmv1.ClusterIssuerKind},
		ObjectMeta: meta2(d.ObjectName("acme-issuer"), "", deploymentLabels(d, nil)),
	}
	if c.Env.selfSigned(c.Env.Host(d, c.Domain)) {
		iss.Spec.SelfSigned = &cmv1.SelfSignedIssuer{}
		return iss
	}
	solver := cmacme.ACMEChallengeSolver{HTTP01: &cmacme.ACMEChallengeSolverHTTP01{Ingress: &cmacme.ACMEChallengeSolverHTTP01Ingress{}}}
	if r.m.IngressClass != "" {
		class := r.m.IngressClass
		solver.HTTP01.Ingress.IngressClassName = &class
	}
	// platform-issuers substitutes: a "$" the Fleet's ACME settings hold
	// (legal in an e-mail address or a URL) is written "$$".
	iss.Spec.ACME = &cmacme.ACMEIssuer{
		Server:     escapeVars(c.Env.ACMEServer),
		Email:      escapeVars(c.Env.ACMEEmail),
		PrivateKey: cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: d.ObjectName("acme-account")}},
		Solvers:    []cmacme.ACMEChallengeSolver{solver},
	}
	return iss
}

// tenant renders tenants/<namespace>/.
func (r *renderer) tenant(t *Tenant) {
	dir := "tenants/" + t.Namespace
	ns := t.Namespace
	tenantLabels := managedLabels(map[string]string{"toolkit.fluxcd.io/tenant": ns})
	r.yaml(dir+"/namespace.yaml", &corev1.Namespace{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		// Pruning a namespace deletes its PVCs; it is kept when the
		// tenant goes, like the operator keeps volumes.
		ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: tenantLabels, Annotations: map[string]string{pruneAnnotation: disabled}},
	})
	// The stage Kustomizations impersonate this ServiceAccount, also
	// when they are deleted: kustomize-controller prunes a deleted
	// Kustomization's objects as that account and skips the pruning
	// when the account is gone. When a tenant leaves a cluster, its
	// stage Kustomizations and its RBAC are pruned at the same time,
	// so the RBAC is kept (with the Namespace) to let them clean up.
	keep := meta2(TenantServiceAccount, ns, tenantLabels)
	keep.Annotations = map[string]string{pruneAnnotation: disabled}
	certs := meta2(TenantServiceAccount+"-certificates", ns, tenantLabels)
	certs.Annotations = map[string]string{pruneAnnotation: disabled}
	r.yaml(dir+"/rbac.yaml",
		&corev1.ServiceAccount{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta: keep,
		},
		&rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"},
			ObjectMeta: keep,
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: TenantServiceAccount, Namespace: ns}},
		},
		// admin covers cert-manager's Certificates only where the
		// cert-manager chart aggregated its roles into it (its default);
		// a cluster with certManager: existing may not have them.
		&rbacv1.Role{
			TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "Role"},
			ObjectMeta: certs,
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{cmv1.SchemeGroupVersion.Group}, Resources: []string{"certificates"},
				Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}}},
		},
		&rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"},
			ObjectMeta: certs,
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: certs.Name},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: TenantServiceAccount, Namespace: ns}},
		})
	info := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: meta2(RuntimeInfo, ns, tenantLabels),
		Data:       map[string]string{},
	}
	for _, k := range []string{"ENVIRONMENT", "GIT_BRANCH", "CLUSTER_NAME", "CLUSTER_DOMAIN"} {
		info.Data[k] = "${" + k + "}"
	}
	r.yaml(dir+"/runtime-info.yaml", info)
	repo := &sourcev1.GitRepository{
		TypeMeta:   metav1.TypeMeta{APIVersion: sourcev1.GroupVersion.String(), Kind: sourcev1.GitRepositoryKind},
		ObjectMeta: meta2(FleetSource, ns, tenantLabels),
		Spec: sourcev1.GitRepositorySpec{
			URL:       r.m.Repository.URL,
			Interval:  metav1.Duration{Duration: time.Minute},
			Timeout:   &metav1.Duration{Duration: time.Minute},
			Reference: &sourcev1.GitRepositoryRef{Branch: "${GIT_BRANCH}"},
			// The tenant's stages read only its own components: its
			// artifact holds those, not every tenant's manifests and the
			// whole repository once per namespace.
			SparseCheckout: []string{"components/fleio/" + ns},
		},
	}
	if r.m.Repository.SecretRef != "" {
		repo.Spec.SecretRef = &meta.LocalObjectReference{Name: r.m.Repository.SecretRef}
	}
	r.yaml(dir+"/sync.yaml", repo)
	k := &kusttypes.Kustomization{Resources: []string{"namespace.yaml", "rbac.yaml", "runtime-info.yaml", "sync.yaml"}}
	for _, d := range t.Deployments {
		k.Resources = append(k.Resources, path.Base(tenantFile(d))) // rendered by deployment
	}
	r.kustomization(dir, k)
}

// tenantFile is the file, in its tenant's directory, of a deployment's
// stageObjects.
func tenantFile(d *Deployment) string {
	return "tenants/" + d.Namespace + "/fleio-" + d.Name + ".yaml"
}

// stageObjects are a deployment's objects in its tenant directory: the
// RBAC of its deployment-keys and preflight Jobs, and its stage
// Kustomizations.
func (r *renderer) stageObjects(d *Deployment) []any {
	ns := d.Namespace
	labels := deploymentLabels(d, nil)
	keys, pre := d.ObjectName("keys"), d.ObjectName("preflight")
	var results []string
	for _, c := range PreflightChecks {
		results = append(results, d.PreflightResult(c))
	}
	// The deployment-keys Job creates its Secret; the preflight Job records
	// each check that passed in a ConfigMap of its own (owned by the Job,
	// so it goes with it).
	objs := jobAccount(keys, ns, labels,
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{d.ObjectName("deployment-keys")}, Verbs: []string{"get", "patch", "update"}})
	objs = append(objs, jobAccount(pre, ns, labels,
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: results, Verbs: []string{"get", "update", "delete"}})...)
	base := fmt.Sprintf("./components/fleio/%s/%s/", ns, d.Name)
	for i, stage := range Stages {
		o := ksOptions{
			Path:           base + stage,
			SourceName:     FleetSource,
			ServiceAccount: TenantServiceAccount,
			Substitute:     true,
			Labels:         deploymentLabels(d, map[string]string{"fleiogen.io/stage": stage}),
		}
		if i > 0 {
			o.DependsOn = []string{StageKustomization(d.Name, Stages[i-1])}
		}
		switch stage {
		case "preflight":
			// Health checks hold one of kustomize-controller's workers
			// (--concurrent, 4 by default) until they pass or time out, and
			// preflight is the stage that waits on others (a Secret, a
			// database); its Job checks again by itself in the meantime.
			// So a short wait, and a longer pause between attempts.
			o.Timeout, o.RetryInterval = 2*time.Minute, 2*time.Minute
			o.HealthChecks = append(o.HealthChecks, healthCheck("batch/v1", "Job", pre, ns))
			for _, r := range results {
				o.HealthChecks = append(o.HealthChecks, healthCheck("v1", "ConfigMap", r, ns))
			}
			for _, s := range d.RequiredSecrets() {
				o.HealthChecks = append(o.HealthChecks, healthCheck("v1", "Secret", s, ns))
			}
		case "config":
			o.Path += "/${ENVIRONMENT}"
			o.Timeout = 5 * time.Minute
			o.HealthChecks = []meta.NamespacedObjectKindReference{
				healthCheck("batch/v1", "Job", d.ObjectName("deployment-keys"), ns),
				healthCheck("v1", "Secret", d.ObjectName("deployment-keys"), ns),
				healthCheck("v1", "ConfigMap", d.ObjectName("backend-settings"), ns),
				healthCheck("v1", "ConfigMap", d.ObjectName("frontend-settings"), ns),
			}
		case "database":
			o.Wait, o.Timeout = true, 30*time.Minute
		case "license":
			o.Wait, o.Timeout = true, 5*time.Minute
		case "app":
			o.Path += "/${ENVIRONMENT}"
			o.Wait, o.Timeout = true, 15*time.Minute
		}
		objs = append(objs, fluxKustomization(StageKustomization(d.Name, stage), ns, o))
	}
	return objs
}

// jobAccount is the ServiceAccount name of a Job's pods, with a Role of
// rules bound to it, all in namespace ns.
func jobAccount(name, ns string, labels map[string]string, rules ...rbacv1.PolicyRule) []any {
	return []any{
		&corev1.ServiceAccount{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta: meta2(name, ns, labels),
		},
		&rbacv1.Role{
			TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "Role"},
			ObjectMeta: meta2(name, ns, labels),
			Rules:      rules,
		},
		&rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"},
			ObjectMeta: meta2(name, ns, labels),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}},
		},
	}
}

func healthCheck(apiVersion, kind, name, namespace string) meta.NamespacedObjectKindReference {
	return meta.NamespacedObjectKindReference{APIVersion: apiVersion, Kind: kind, Name: name, Namespace: namespace}
}

func ptr[T any](v T) *T { return &v }
