package generator

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Services are Fleio's containers, in the order they are rendered.
var Services = []string{"backend", "frontend", "web", "celery", "celerybeat", "incomingmail", "operations", "updated", "utils"}

// servicePorts are the container ports of the services that get a Service.
var servicePorts = map[string]int32{"backend": 8000, "frontend": 80, "web": 8080}

// usesBackendSettings reports whether a service runs Django and so mounts
// settings.py; the frontend mounts the frontend configuration instead, and
// web only routes.
func usesBackendSettings(service string) bool {
	return service != "frontend" && service != "web"
}

// Volume names (the PVC suffixes) and where they are mounted.
// Key names the volume in the Fleet's storage.sizes; Name is the pod volume
// name (a DNS label).
var volumes = []struct{ Key, Name, Claim, MountPath string }{
	{"compiled", "compiled", "compiled-pvc", "/var/webapps/fleio/compiled"},
	{"log", "log", "log-pvc", "/var/webapps/fleio/logs"},
	{"var", "var", "var-pvc", "/var/webapps/fleio/var"},
	{"databaseBackups", "database-backups", "database-backups", "/var/webapps/fleio/backups"},
}

// The kinds of ClusterIssuer an environment's issuer field names.
const (
	IssuerACME       = "acme"
	IssuerSelfSigned = "selfSigned"
)

// Defaults documented in the README.
const (
	DefaultRegistry        = "hub.fleio.com"
	DefaultPullSecret      = "fleio-registry"
	DefaultACMEServer      = "https://acme-v02.api.letsencrypt.org/directory"
	DefaultCertManagerVer  = "v1.19.1"
	DefaultToolsImage      = "docker.io/alpine/k8s:1.35.4"
	DefaultBackupSchedule  = "0 3 * * *"
	DefaultRetentionCount  = 7
	DefaultHostTemplate    = "{domain}"
	DefaultAccessMode      = "ReadWriteOnce"
	DefaultSetLicenseShell = `python3 manage.py set_license --uuid "$FLEIO_LICENSE_UUID" --key "$FLEIO_LICENSE_KEY"`
	CertManagerInstall     = "install"
	CertManagerExisting    = "existing"
)

var defaultSizes = map[string]string{"compiled": "2Gi", "log": "5Gi", "var": "5Gi", "databaseBackups": "20Gi"}

// defaultResources are the requests and limits of a service whose
// environment sets none.
var defaultResources = map[string][4]string{ // cpu request, memory request, cpu limit, memory limit
	"backend":      {"250m", "512Mi", "1", "1Gi"},
	"frontend":     {"50m", "64Mi", "250m", "128Mi"},
	"web":          {"50m", "64Mi", "500m", "256Mi"},
	"celery":       {"250m", "512Mi", "1", "1Gi"},
	"celerybeat":   {"50m", "256Mi", "250m", "512Mi"},
	"incomingmail": {"50m", "256Mi", "250m", "512Mi"},
	"operations":   {"100m", "384Mi", "500m", "768Mi"},
	"updated":      {"100m", "384Mi", "500m", "768Mi"},
	"utils":        {"10m", "128Mi", "250m", "512Mi"},
	"jobs":         {"100m", "256Mi", "1", "1Gi"},
}

// Release is a parsed Fleio version, YYYY.MM.PATCH.
type Release struct {
	Year, Month, Patch int
}

// String returns the version as written in specs.
func (r Release) String() string { return fmt.Sprintf("%d.%02d.%d", r.Year, r.Month, r.Patch) }

// Image returns the image of a service for this release in registry.
func (r Release) Image(registry, service string) string {
	return fmt.Sprintf("%s/fleio_%s-%d-%02d:%d", registry, service, r.Year, r.Month, r.Patch)
}

// Model is the validated fleet with every default applied; rendering reads
// only this.
type Model struct {
	Repository   Repository
	Registry     string
	IngressClass string
	CertManager  string // chart version
	ToolsImage   string
	SetLicense   string
	Clusters     []*ClusterModel
	Environments map[string]*EnvModel
	// Tenants are the namespaces with Fleio deployments, sorted.
	Tenants     []*Tenant
	Deployments []*Deployment
}

// ClusterModel is a cluster with its tenants resolved.
type ClusterModel struct {
	Cluster
	Env         *EnvModel
	Deployments []*Deployment
}

// EnvModel is an environment with defaults applied.
type EnvModel struct {
	Name         string
	HostTemplate string
	Replicas     map[string]int32
	Resources    map[string]corev1.ResourceRequirements
	StorageClass string
	AccessMode   corev1.PersistentVolumeAccessMode
	Sizes        map[string]resource.Quantity
	ACMEServer   string
	ACMEEmail    string
	// SelfSigned is issuer: selfSigned: no host of the environment uses ACME.
	SelfSigned bool
	// ACMEAlways is issuer: acme, written out: every host uses ACME, the
	// reserved names too (a private ACME server, such as step-ca, issues
	// for .internal names).
	ACMEAlways bool
}

// selfSigned reports whether host gets a self-signed ClusterIssuer rather
// than an ACME one.
func (env *EnvModel) selfSigned(host string) bool {
	return env.SelfSigned || !env.ACMEAlways && isLocalHost(host)
}

// Tenant is one namespace and its deployments.
type Tenant struct {
	Namespace   string
	Deployments []*Deployment
}

// Deployment is a FleioDeployment with its references resolved and its
// defaults applied.
type Deployment struct {
	Name, Namespace string
	Spec            FleioDeploymentSpec
	Release         Release
	DB              *FleioDbConnection
	Redis           *FleioRedisConnection
	LicenseSecret   string
	PullSecret      string
	// ToolsOnRegistry: the Fleet's tools image is on the registry host of
	// its Fleio images (a private mirror of both), so the deployment-keys
	// Job pulls it with PullSecret.
	ToolsOnRegistry bool
	Backups         bool
	BackupSchedule  string
	RetentionCount  int32
	RetentionDays   int32
	BackupFirst     bool
	Services        []string
	// Environments are those of the clusters that run the deployment, sorted.
	Environments []*EnvModel
}

// ObjectName returns fleio-<name>-<suffix>, the operator's naming scheme.
func (d *Deployment) ObjectName(suffix string) string {
	if suffix == "" {
		return "fleio-" + d.Name
	}
	return "fleio-" + d.Name + "-" + suffix
}

// Image returns the image of service, honouring advanced.deploymentsOverrides.
func (d *Deployment) Image(registry, service string) string {
	if d.Spec.Advanced != nil {
		if o, ok := d.Spec.Advanced.DeploymentsOverrides[service]; ok && o.ImagePath != "" {
			if imageHasTag(o.ImagePath) {
				return o.ImagePath
			}
			return fmt.Sprintf("%s:%d", o.ImagePath, d.Release.Patch)
		}
	}
	return d.Release.Image(registry, service)
}

// PullSecrets returns the image pull secrets of service.
func (d *Deployment) PullSecrets(service string) []string {
	if d.Spec.Advanced != nil {
		if o, ok := d.Spec.Advanced.DeploymentsOverrides[service]; ok && o.ImagePullSecret != "" {
			return []string{o.ImagePullSecret}
		}
	}
	if d.PullSecret == "" {
		return nil
	}
	return []string{d.PullSecret}
}

// ToolsPullSecrets returns the image pull secrets of the tools image (the
// deployment-keys Job): the Fleet's pull secret when that image is on the
// Fleio images' registry host, none otherwise.
func (d *Deployment) ToolsPullSecrets() []string {
	if !d.ToolsOnRegistry || d.PullSecret == "" {
		return nil
	}
	return []string{d.PullSecret}
}

// PreflightChecks are the checks of the preflight Job that record a
// result: each, once passed, is a ConfigMap PreflightResult(check) that the
// preflight stage health-checks, so a check that fails is named in the
// stage's status.
var PreflightChecks = []string{"database", "redis"}

// PreflightResult is the name of the ConfigMap in which the preflight Job
// records that check passed.
func (d *Deployment) PreflightResult(check string) string {
	return d.ObjectName("preflight-" + check)
}

// RequiredSecrets lists the Secrets the user creates for this deployment,
// sorted and without duplicates.
func (d *Deployment) RequiredSecrets() []string {
	set := map[string]bool{
		d.DB.Spec.CredentialsSecret:    true,
		d.Redis.Spec.CredentialsSecret: true,
		d.Spec.AdminCredentialsSecret:  true,
		d.LicenseSecret:                true,
	}
	for _, s := range d.Services {
		for _, p := range d.PullSecrets(s) {
			set[p] = true
		}
	}
	for _, p := range d.ToolsPullSecrets() {
		set[p] = true
	}
	return sortedKeys(set)
}

func imageHasTag(ref string) bool {
	if containsRune(ref, '@') {
		return true
	}
	last := ref
	for i := len(ref) - 1; i >= 0; i-- {
		if ref[i] == '/' {
			last = ref[i+1:]
			break
		}
	}
	return containsRune(last, ':')
}

func containsRune(s string, r rune) bool {
	for _, c := range s {
		if c == r {
			return true
		}
	}
	return false
}
