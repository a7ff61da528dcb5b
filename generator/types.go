package generator

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// API groups and kinds fleiogen reads.
const (
	// FleioAPIVersion is the apiVersion of the Fleio operator's own resources.
	FleioAPIVersion = "k8s.fleio.com/v1"
	// FleetAPIVersion is the apiVersion of fleiogen's Fleet kind.
	FleetAPIVersion = "fleiogen.io/v1alpha1"

	KindFleioDeployment      = "FleioDeployment"
	KindFleioDbConnection    = "FleioDbConnection"
	KindFleioRedisConnection = "FleioRedisConnection"
	KindFleet                = "Fleet"
)

// DefaultVersion is the Fleio release a FleioDeployment runs when its
// spec.version is empty. Like the operator, which deploys its own version,
// a fleiogen upgrade that moves this default upgrades every deployment that
// does not pin spec.version.
const DefaultVersion = "2025.06.1"

// Bool is a boolean that also accepts the YAML 1.1 words the operator's
// examples use (yes/no, on/off, y/n), so operator YAML loads unchanged.
type Bool bool

// UnmarshalJSON accepts JSON booleans and the strings true/false/yes/no/on/off/y/n.
func (b *Bool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch t := v.(type) {
	case bool:
		*b = Bool(t)
		return nil
	case string:
		switch strings.ToLower(t) {
		case "true", "yes", "y", "on":
			*b = true
			return nil
		case "false", "no", "n", "off":
			*b = false
			return nil
		}
		return fmt.Errorf("%q is not a boolean (use true/false or yes/no)", t)
	}
	return fmt.Errorf("%s is not a boolean (use true/false or yes/no)", string(data))
}

// On reports whether b is set and true.
func (b *Bool) On() bool { return b != nil && bool(*b) }

// FleioDbConnection is the operator's description of a MariaDB database.
type FleioDbConnection struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta     `json:"metadata"`
	Spec            FleioDbConnectionSpec `json:"spec"`
}

// FleioDbConnectionSpec holds the MariaDB connection details; all are required.
type FleioDbConnectionSpec struct {
	Hostname          string `json:"hostname"`
	Port              int32  `json:"port"`
	CredentialsSecret string `json:"credentialsSecret"`
	DatabaseName      string `json:"databaseName"`
}

// FleioRedisConnection is the operator's description of a Redis server.
type FleioRedisConnection struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta        `json:"metadata"`
	Spec            FleioRedisConnectionSpec `json:"spec"`
}

// FleioRedisConnectionSpec holds the Redis connection details; all are required.
type FleioRedisConnectionSpec struct {
	Hostname          string `json:"hostname"`
	Port              int32  `json:"port"`
	CredentialsSecret string `json:"credentialsSecret"`
	DatabaseID        string `json:"databaseId"`
}

// FleioDeployment is one Fleio installation, as the operator defines it,
// plus spec.version and the fleiogen extensions documented on its fields.
type FleioDeployment struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta   `json:"metadata"`
	Spec            FleioDeploymentSpec `json:"spec"`
}

// FleioDeploymentSpec mirrors the operator's FleioDeployment fields.
type FleioDeploymentSpec struct {
	// Version is the Fleio release (YYYY.MM.PATCH); DefaultVersion when empty.
	Version                string  `json:"version,omitempty"`
	License                License `json:"license"`
	DatabaseConnection     string  `json:"databaseConnection"`
	RedisConnection        string  `json:"redisConnection"`
	AdminCredentialsSecret string  `json:"adminCredentialsSecret"`
	Domain                 string  `json:"domain"`

	EnableBackups        *Bool  `json:"enableBackups,omitempty"`
	BackupSchedule       string `json:"backupSchedule,omitempty"`
	BackupRetentionCount *int32 `json:"backupRetentionCount,omitempty"`
	BackupRetentionDays  *int32 `json:"backupRetentionDays,omitempty"`
	// BackupBeforeUpgrade takes a backup before the database Job migrates;
	// on by default, as with the operator, also without enableBackups.
	BackupBeforeUpgrade *Bool `json:"backupBeforeUpgrade,omitempty"`

	Advanced *Advanced `json:"advanced,omitempty"`

	// Settings (fleiogen extension) are extra Django settings appended to
	// settings.py, NAME: value, rendered as Python literals.
	Settings map[string]json.RawMessage `json:"settings,omitempty"`
	// FrontendSettings (fleiogen extension) are merged into the end-user and
	// staff frontend JSON configuration files.
	FrontendSettings *FrontendSettings `json:"frontendSettings,omitempty"`
}

// License names the Fleio license. The key is never in the spec: it lives in
// a Secret (keySecret, data key "key").
type License struct {
	UUID string `json:"uuid"`
	// Key is accepted by the decoder only so that validation can refuse it
	// with a message that says how to move it into a Secret.
	Key string `json:"key,omitempty"`
	// KeySecret is the Secret holding the license key under data key "key";
	// fleio-<name>-license when empty.
	KeySecret string `json:"keySecret,omitempty"`
}

// Advanced holds the operator's advanced switches.
type Advanced struct {
	DeployUtilsContainer *Bool                         `json:"deployUtilsContainer,omitempty"`
	DeploymentsOverrides map[string]DeploymentOverride `json:"deploymentsOverrides,omitempty"`
}

// DeploymentOverride changes one container's image.
type DeploymentOverride struct {
	// ImagePath is an image repository (the release tag is appended) or a
	// full reference with a tag or digest (used as is).
	ImagePath       string `json:"imagePath,omitempty"`
	ImagePullSecret string `json:"imagePullSecret,omitempty"`
}

// FrontendSettings are extra keys for the two frontend configuration files.
type FrontendSettings struct {
	Enduser map[string]json.RawMessage `json:"enduser,omitempty"`
	Staff   map[string]json.RawMessage `json:"staff,omitempty"`
}

// Fleet is fleiogen's own kind: the repository, the clusters and what GitOps
// needs where the operator's resources are silent.
type Fleet struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            FleetSpec         `json:"spec"`
}

// FleetSpec is the body of a Fleet.
type FleetSpec struct {
	Repository Repository `json:"repository"`
	// DefaultNamespace is the tenant namespace of Fleio resources that have
	// no metadata.namespace (operator YAML applied with kubectl -n).
	DefaultNamespace string        `json:"defaultNamespace,omitempty"`
	Clusters         []Cluster     `json:"clusters"`
	Environments     []Environment `json:"environments"`
	Images           Images        `json:"images,omitempty"`
	Ingress          Ingress       `json:"ingress,omitempty"`
	CertManager      CertManager   `json:"certManager,omitempty"`
	Tools            Tools         `json:"tools,omitempty"`
}

// Repository is the fleet Git repository Flux reads.
type Repository struct {
	URL string `json:"url"`
	// SecretRef is the Git credentials Secret, created in every tenant
	// namespace; empty for a public repository.
	SecretRef string `json:"secretRef,omitempty"`
}

// Cluster is one Kubernetes cluster of the fleet.
type Cluster struct {
	Name        string `json:"name"`
	Environment string `json:"environment"`
	Branch      string `json:"branch"`
	Domain      string `json:"domain"`
	// Tenants are the namespaces whose FleioDeployments the cluster runs.
	Tenants []string `json:"tenants"`
	// CertManager is "install" (default: a HelmRelease) or "existing" (the
	// cluster already runs cert-manager).
	CertManager string `json:"certManager,omitempty"`
}

// Environment holds what differs between environments (overlays).
type Environment struct {
	Name string `json:"name"`
	// HostTemplate builds each deployment's public host name. Placeholders:
	// {domain} (spec.domain), {name}, {namespace}, {clusterDomain}
	// (the cluster's CLUSTER_DOMAIN). Default "{domain}".
	HostTemplate string                                 `json:"hostTemplate,omitempty"`
	Replicas     map[string]int32                       `json:"replicas,omitempty"`
	Resources    map[string]corev1.ResourceRequirements `json:"resources,omitempty"`
	Storage      Storage                                `json:"storage,omitempty"`
	// Issuer is the kind of each deployment's ClusterIssuer:
	// "acme" (Let's Encrypt, or acme.server) or "selfSigned", for hosts no
	// ACME server can reach or issue for. When it is not set, reserved
	// names (localhost, .local, .localhost, .internal, .test, ...) are
	// self-signed and other hosts use ACME; "acme" written out uses ACME
	// for reserved names too (a private ACME server).
	Issuer string `json:"issuer,omitempty"`
	ACME   ACME   `json:"acme,omitempty"`
}

// Storage configures the PVCs.
type Storage struct {
	ClassName  string                       `json:"className,omitempty"`
	AccessMode string                       `json:"accessMode,omitempty"`
	Sizes      map[string]resource.Quantity `json:"sizes,omitempty"`
}

// ACME configures the per-deployment ClusterIssuers.
type ACME struct {
	Server string `json:"server,omitempty"`
	Email  string `json:"email,omitempty"`
}

// Images sets the registry and its pull secret.
type Images struct {
	Registry   string `json:"registry,omitempty"`
	PullSecret string `json:"pullSecret,omitempty"`
}

// Ingress sets the ingress class.
type Ingress struct {
	ClassName string `json:"className,omitempty"`
}

// CertManager sets the chart that clusters with certManager "install" get.
type CertManager struct {
	ChartVersion string `json:"chartVersion,omitempty"`
}

// Tools sets the image of the deployment-keys Job, which needs kubectl and
// a shell, and the command of the license Job (which runs the backend
// image).
type Tools struct {
	Image string `json:"image,omitempty"`
	// SetLicenseCommand is the shell command the license Job runs; Fleio does
	// not document one, so it is configurable.
	SetLicenseCommand string `json:"setLicenseCommand,omitempty"`
}
