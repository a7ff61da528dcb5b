package generator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	kusttypes "sigs.k8s.io/kustomize/api/types"
)

// preflightBackoffLimit bounds the preflight pods that crash. Failing
// checks do not end a pod: it checks again until they pass.
const preflightBackoffLimit = 6

// preflightSecrets is where the preflight Job mounts each Secret it reads,
// under a directory of the Secret's name.
const preflightSecrets = "/var/run/fleio/secrets"

// Minimum server versions Fleio supports; the preflight Job checks them.
const (
	MinMariaDB = "10.11.11"
	MinRedis   = "7.4.2"
)

// Paths inside Fleio's images (FLEIO.md).
const (
	projectDir     = "/var/webapps/fleio/project"
	settingsPath   = projectDir + "/fleio/fleiosettings/settings.py"
	frontendDir    = "/var/webapps/fleio/frontend"
	fleioUID       = 625
	backupsMount   = "/var/webapps/fleio/backups"
	settingsVolume = "backend-settings"
)

func deploymentLabels(d *Deployment, extra map[string]string) map[string]string {
	l := map[string]string{
		"app.kubernetes.io/name":       "fleio",
		"app.kubernetes.io/instance":   d.Name,
		"app.kubernetes.io/managed-by": "fleiogen",
	}
	for k, v := range extra {
		l[k] = v
	}
	return l
}

func selectorLabels(d *Deployment, service string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": "fleio", "app.kubernetes.io/instance": d.Name, "app.kubernetes.io/component": service}
}

// deployment renders components/fleio/<namespace>/<name>/ and the
// deployment's file in its tenant's directory.
func (r *renderer) deployment(d *Deployment) {
	r.yaml(tenantFile(d), r.stageObjects(d)...)

	dir := fmt.Sprintf("components/fleio/%s/%s", d.Namespace, d.Name)
	settings := make(map[string]*settingsData, len(d.Environments))
	for _, env := range d.Environments {
		s, err := renderSettings(r.m, d, env)
		if err != nil {
			if r.err == nil {
				r.err = fmt.Errorf("FleioDeployment %s/%s: %w", d.Namespace, d.Name, err)
			}
			return
		}
		settings[env.Name] = s
	}

	// preflight
	r.yaml(dir+"/preflight/job.yaml", r.preflightJob(d))
	r.kustomization(dir+"/preflight", &kusttypes.Kustomization{Resources: []string{"job.yaml"}})

	// config: complete per environment, as little of it is the same in
	// every environment: the deployment-keys Job (serialised once), the
	// volumes and the settings.
	keys := r.encoded(r.keysJob(d))
	for _, env := range d.Environments {
		edir := dir + "/config/" + env.Name
		objs := []any{keys}
		for _, v := range volumes {
			objs = append(objs, pvc(d, env, v.Key, v.Claim))
		}
		s := settings[env.Name]
		objs = append(objs, s.backend, s.frontend)
		r.yaml(edir+"/config.yaml", objs...)
		r.kustomization(edir, &kusttypes.Kustomization{Resources: []string{"config.yaml"}})
	}

	// database and license
	r.yaml(dir+"/database/job.yaml", r.setupDatabaseJob(d))
	r.kustomization(dir+"/database", &kusttypes.Kustomization{Resources: []string{"job.yaml"}})
	r.yaml(dir+"/license/job.yaml", r.setLicenseJob(d))
	r.kustomization(dir+"/license", &kusttypes.Kustomization{Resources: []string{"job.yaml"}})

	// app: workloads in base; replicas, resources, settings checksums,
	// ingress and certificate per environment.
	var app, services []any
	for _, svc := range d.Services {
		app = append(app, r.workload(d, svc))
		if _, ok := servicePorts[svc]; ok {
			services = append(services, service(d, svc))
		}
	}
	app = append(app, services...)
	if d.Backups {
		app = append(app, r.backupCronJob(d))
	}
	r.yaml(dir+"/app/"+baseDir+"/app.yaml", app...)
	r.kustomization(dir+"/app/"+baseDir, &kusttypes.Kustomization{Resources: []string{"app.yaml"}})
	for _, env := range d.Environments {
		edir := dir + "/app/" + env.Name
		host := env.Host(d, clusterDomainVar)
		r.yaml(edir+"/ingress.yaml", r.ingress(d, host), certificate(d, host))
		k := &kusttypes.Kustomization{Resources: []string{"../" + baseDir, "ingress.yaml"}}
		s := settings[env.Name]
		for _, svc := range d.Services {
			k.Patches = append(k.Patches, r.patch(workloadPatch(d, env, svc, s)))
		}
		r.kustomization(edir, k)
	}
}

// settingsData is one environment's settings ConfigMaps and their checksums.
type settingsData struct {
	backend, frontend                 *corev1.ConfigMap
	backendChecksum, frontendChecksum string
	// domainVar: the settings hold ${CLUSTER_DOMAIN}.
	domainVar bool
}

func configMap(d *Deployment, name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: meta2(name, d.Namespace, deploymentLabels(d, nil)),
		Data:       data,
	}
}

func pvc(d *Deployment, env *EnvModel, key, claim string) *corev1.PersistentVolumeClaim {
	p := &corev1.PersistentVolumeClaim{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{
			Name: d.ObjectName(claim), Namespace: d.Namespace, Labels: deploymentLabels(d, nil),
			// Volumes outlive the deployment, as with the operator.
			Annotations: map[string]string{pruneAnnotation: disabled},
		},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{env.AccessMode},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: env.Sizes[key]}},
		},
	}
	if env.StorageClass != "" {
		p.Spec.StorageClassName = ptr(env.StorageClass)
	}
	return p
}

// backendEnv is the environment every Django container gets: database and
// Redis credentials and the deployment keys, all from Secrets.
func backendEnv(d *Deployment) []corev1.EnvVar {
	return []corev1.EnvVar{
		secretEnv("FLEIO_DB_USER", d.DB.Spec.CredentialsSecret, "username", false),
		secretEnv("FLEIO_DB_PASSWORD", d.DB.Spec.CredentialsSecret, "password", false),
		secretEnv("FLEIO_REDIS_USER", d.Redis.Spec.CredentialsSecret, "username", true),
		secretEnv("FLEIO_REDIS_PASSWORD", d.Redis.Spec.CredentialsSecret, "password", false),
		secretEnv("FLEIO_SECRET_KEY", d.ObjectName("deployment-keys"), "secretKey", false),
		secretEnv("FLEIO_SSO_SALT", d.ObjectName("deployment-keys"), "ssoSalt", false),
	}
}

func secretEnv(name, secret, key string, optional bool) corev1.EnvVar {
	ref := &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}
	if optional {
		ref.Optional = ptr(true)
	}
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: ref}}
}

// databaseEnv names the database a Job writes to (host:port/name). The
// host, port and name are otherwise only in settings.py, which the Jobs
// read from a ConfigMap: without it, pointing a deployment at another
// database would leave the Jobs' templates unchanged, so Flux would not
// recreate them, and the new database would get no tables, admin user or
// license while the app rolled onto it.
func databaseEnv(d *Deployment) corev1.EnvVar {
	return valueEnv("FLEIO_DATABASE", net.JoinHostPort(d.DB.Spec.Hostname, strconv.Itoa(int(d.DB.Spec.Port)))+"/"+d.DB.Spec.DatabaseName)
}

func valueEnv(name, value string) corev1.EnvVar { return corev1.EnvVar{Name: name, Value: value} }

func fieldEnv(name, path string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
}

func pullSecrets(d *Deployment, service string) []corev1.LocalObjectReference {
	return toRefs(d.PullSecrets(service))
}

func toRefs(names []string) []corev1.LocalObjectReference {
	var out []corev1.LocalObjectReference
	for _, s := range names {
		out = append(out, corev1.LocalObjectReference{Name: s})
	}
	return out
}

// volumesFor returns the pod volumes and container mounts of a service.
func volumesFor(d *Deployment, service string, claims ...string) ([]corev1.Volume, []corev1.VolumeMount) {
	// At most the two settings volumes and the claims: Volume is large,
	// and growing the slices was a tenth of a render's allocation.
	vols := make([]corev1.Volume, 0, 2+len(claims))
	mounts := make([]corev1.VolumeMount, 0, 3+len(claims))
	if usesBackendSettings(service) {
		vols = append(vols, corev1.Volume{Name: settingsVolume, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: d.ObjectName("backend-settings")},
			Items:                []corev1.KeyToPath{{Key: "settings", Path: "settings.py"}},
		}}})
		mounts = append(mounts, corev1.VolumeMount{Name: settingsVolume, MountPath: settingsPath, SubPath: "settings.py", ReadOnly: true})
	}
	if service == "frontend" {
		vols = append(vols, corev1.Volume{Name: "frontend-settings", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: d.ObjectName("frontend-settings")},
			Items: []corev1.KeyToPath{
				{Key: "enduserConfigFile", Path: "enduser.config.json"},
				{Key: "staffConfigFile", Path: "staff.config.json"},
			},
		}}})
		mounts = append(mounts,
			corev1.VolumeMount{Name: "frontend-settings", MountPath: frontendDir + "/enduser/assets/config/enduser.config.json", SubPath: "enduser.config.json", ReadOnly: true},
			corev1.VolumeMount{Name: "frontend-settings", MountPath: frontendDir + "/staff/assets/config/staff.config.json", SubPath: "staff.config.json", ReadOnly: true})
	}
	for _, v := range volumes {
		if !contains(claims, v.Key) {
			continue
		}
		vols = append(vols, corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: d.ObjectName(v.Claim)}}})
		mounts = append(mounts, corev1.VolumeMount{Name: v.Name, MountPath: v.MountPath})
	}
	return vols, mounts
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func podSecurity() *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{FSGroup: ptr(int64(fleioUID))}
}

func jobResources() corev1.ResourceRequirements {
	return resolveResources("jobs", nil)
}

// job builds a Job that Flux recreates when its template changes (force)
// and whose scripts Flux leaves alone (no variable substitution).
func (r *renderer) job(d *Deployment, suffix string, backoff int32, spec corev1.PodSpec) *batchv1.Job {
	spec.RestartPolicy = corev1.RestartPolicyNever
	if spec.SecurityContext == nil {
		spec.SecurityContext = podSecurity()
	}
	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name: d.ObjectName(suffix), Namespace: d.Namespace,
			Labels:      deploymentLabels(d, map[string]string{"app.kubernetes.io/component": suffix}),
			Annotations: map[string]string{forceAnnotation: enabled, substituteAnnotation: disabled},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr(backoff),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: deploymentLabels(d, map[string]string{"app.kubernetes.io/component": suffix})},
				Spec:       spec,
			},
		},
	}
}

func shell(script string) []string { return []string{"/bin/sh", "-c", script} }

func (r *renderer) preflightJob(d *Deployment) *batchv1.Job {
	// The Secrets are optional volumes, not environment variables: the
	// kubelet fills a volume in when its Secret appears, so the pod that
	// waits for a missing Secret sees it without being replaced.
	file := func(secret, key string) string { return path.Join(preflightSecrets, secret, key) }
	env := []corev1.EnvVar{
		valueEnv("DB_HOST", d.DB.Spec.Hostname),
		valueEnv("DB_PORT", strconv.Itoa(int(d.DB.Spec.Port))),
		valueEnv("DB_NAME", d.DB.Spec.DatabaseName),
		valueEnv("DB_MIN_VERSION", MinMariaDB),
		valueEnv("REDIS_HOST", d.Redis.Spec.Hostname),
		valueEnv("REDIS_PORT", strconv.Itoa(int(d.Redis.Spec.Port))),
		valueEnv("REDIS_DB", d.Redis.Spec.DatabaseID),
		valueEnv("REDIS_MIN_VERSION", MinRedis),
		valueEnv("DB_USER_FILE", file(d.DB.Spec.CredentialsSecret, "username")),
		valueEnv("DB_PASSWORD_FILE", file(d.DB.Spec.CredentialsSecret, "password")),
		valueEnv("REDIS_USER_FILE", file(d.Redis.Spec.CredentialsSecret, "username")),
		valueEnv("REDIS_PASSWORD_FILE", file(d.Redis.Spec.CredentialsSecret, "password")),
	}
	// The keys every pod or Job reads; a password may be empty (an account
	// or a Redis without one), but the key must be there.
	checks := []struct {
		secret, key string
		emptyOK     bool
	}{
		{d.DB.Spec.CredentialsSecret, "username", false},
		{d.DB.Spec.CredentialsSecret, "password", true},
		{d.Redis.Spec.CredentialsSecret, "password", true},
		{d.Spec.AdminCredentialsSecret, "username", false},
		{d.Spec.AdminCredentialsSecret, "password", false},
		{d.LicenseSecret, "key", false},
	}
	var vols []corev1.Volume
	var mounts []corev1.VolumeMount
	for i, c := range checks {
		name := fmt.Sprintf("REQUIRED_SECRET_%d", i)
		env = append(env, valueEnv(name, file(c.secret, c.key)),
			valueEnv(name+"_FROM", fmt.Sprintf("Secret %s/%s key %s", d.Namespace, c.secret, c.key)))
		if c.emptyOK {
			env = append(env, valueEnv(name+"_EMPTY_OK", "1"))
		}
	}
	// Each Secret the checks read, once (one Secret may hold the
	// credentials of both servers).
	for _, c := range checks {
		dir := path.Join(preflightSecrets, c.secret)
		if slices.ContainsFunc(mounts, func(m corev1.VolumeMount) bool { return m.MountPath == dir }) {
			continue
		}
		v := fmt.Sprintf("secret-%d", len(vols))
		vols = append(vols, corev1.Volume{Name: v, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: c.secret, Optional: ptr(true)}}})
		mounts = append(mounts, corev1.VolumeMount{Name: v, MountPath: dir, ReadOnly: true})
	}
	// Where the Job records the checks that passed (ConfigMaps it owns).
	env = append(env,
		valueEnv("RESULT_DATABASE", d.PreflightResult("database")),
		valueEnv("RESULT_REDIS", d.PreflightResult("redis")),
		valueEnv("JOB_NAME", d.ObjectName("preflight")),
		fieldEnv("JOB_UID", "metadata.labels['batch.kubernetes.io/controller-uid']"),
		fieldEnv("POD_NAMESPACE", "metadata.namespace"))
	// The script checks again, backing off to 5 minutes, until every check
	// passes: the Job stays active (not Failed, which would end
	// kustomize-controller's health checks early and never rerun), one pod
	// waits, and fixing the cause lets the chain go on by itself.
	return r.job(d, "preflight", preflightBackoffLimit, corev1.PodSpec{
		ServiceAccountName: d.ObjectName("preflight"),
		ImagePullSecrets:   pullSecrets(d, "backend"),
		Volumes:            vols,
		Containers: []corev1.Container{{
			Name: "preflight", Image: d.Image(r.m.Registry, "backend"),
			Command:      []string{"python3", "-c", mustTemplate("preflight.py")},
			Env:          env,
			VolumeMounts: mounts,
			Resources:    jobResources(),
		}},
	})
}

func (r *renderer) keysJob(d *Deployment) *batchv1.Job {
	return r.job(d, "deployment-keys", 3, corev1.PodSpec{
		ServiceAccountName: d.ObjectName("keys"),
		ImagePullSecrets:   toRefs(d.ToolsPullSecrets()),
		Containers: []corev1.Container{{
			Name: "deployment-keys", Image: r.m.ToolsImage,
			Command:   shell(mustTemplate("deployment-keys.sh")),
			Env:       []corev1.EnvVar{valueEnv("SECRET_NAME", d.ObjectName("deployment-keys")), valueEnv("INSTANCE", d.Name)},
			Resources: jobResources(),
		}},
	})
}

func (r *renderer) setupDatabaseJob(d *Deployment) *batchv1.Job {
	claims := []string{"log", "var"}
	if d.BackupFirst {
		claims = append(claims, "databaseBackups")
	}
	vols, mounts := volumesFor(d, "backend", claims...)
	env := append(backendEnv(d),
		secretEnv("FLEIO_ADMIN_USERNAME", d.Spec.AdminCredentialsSecret, "username", false),
		secretEnv("FLEIO_ADMIN_PASSWORD", d.Spec.AdminCredentialsSecret, "password", false),
		valueEnv("FLEIO_VERSION", d.Release.String()),
		databaseEnv(d))
	spec := corev1.PodSpec{
		ImagePullSecrets: pullSecrets(d, "backend"),
		Volumes:          vols,
		Containers: []corev1.Container{{
			Name: "setup-database", Image: d.Image(r.m.Registry, "backend"),
			Command: shell(mustTemplate("setup-database.sh")), Env: env, VolumeMounts: mounts,
			Resources: jobResources(),
		}},
	}
	if d.BackupFirst {
		spec.InitContainers = []corev1.Container{{
			Name: "pre-upgrade-backup", Image: d.Image(r.m.Registry, "backend"),
			Command: shell(mustTemplate("pre-upgrade-backup.sh")), Env: backendEnv(d), VolumeMounts: mounts,
			Resources: jobResources(),
		}}
	}
	job := r.job(d, "setup-database", 3, spec)
	job.Spec.ActiveDeadlineSeconds = ptr(int64(1800))
	return job
}

func (r *renderer) setLicenseJob(d *Deployment) *batchv1.Job {
	vols, mounts := volumesFor(d, "backend", "log", "var")
	env := append(backendEnv(d),
		valueEnv("FLEIO_LICENSE_UUID", d.Spec.License.UUID),
		secretEnv("FLEIO_LICENSE_KEY", d.LicenseSecret, "key", false),
		valueEnv("FLEIO_VERSION", d.Release.String()),
		databaseEnv(d))
	script, err := executeTemplate("set-license.sh.tmpl", map[string]string{"Command": r.m.SetLicense})
	if err != nil && r.err == nil {
		r.err = err
	}
	return r.job(d, "set-license", 3, corev1.PodSpec{
		ImagePullSecrets: pullSecrets(d, "backend"),
		Volumes:          vols,
		Containers: []corev1.Container{{
			Name: "set-license", Image: d.Image(r.m.Registry, "backend"),
			Command: shell(script), Env: env, VolumeMounts: mounts,
			Resources: jobResources(),
		}},
	})
}

// workload is a service's Deployment, without what differs per
// environment (replicas, resources, settings checksums: see workloadPatch).
func (r *renderer) workload(d *Deployment, svc string) *appsv1.Deployment {
	var claims []string
	switch {
	case svc == "utils":
		// Fleio's utils container sees every backend volume, so that a
		// manual dbbackup or dbrestore reaches the backups volume.
		claims = []string{"compiled", "log", "var", "databaseBackups"}
	case usesBackendSettings(svc):
		claims = []string{"compiled", "log", "var"}
	case svc == "frontend" || svc == "web":
		claims = []string{"compiled"}
	}
	vols, mounts := volumesFor(d, svc, claims...)
	c := corev1.Container{Name: svc, Image: d.Image(r.m.Registry, svc), VolumeMounts: mounts}
	if usesBackendSettings(svc) {
		c.Env = backendEnv(d)
	}
	if svc == "utils" {
		// A shell to exec into for admin commands (FLEIO.md): it must not
		// depend on what the image's default command does.
		c.Command = []string{"sleep", "infinity"}
	}
	if port, ok := servicePorts[svc]; ok {
		c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: port, Protocol: corev1.ProtocolTCP}}
		c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("http")}}, PeriodSeconds: 10}
	}
	dep := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta2(d.ObjectName(svc), d.Namespace, deploymentLabels(d, map[string]string{"app.kubernetes.io/component": svc})),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: selectorLabels(d, svc)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: deploymentLabels(d, map[string]string{"app.kubernetes.io/component": svc})},
				Spec: corev1.PodSpec{
					ImagePullSecrets: pullSecrets(d, svc),
					SecurityContext:  podSecurity(),
					Containers:       []corev1.Container{c},
					Volumes:          vols,
				},
			},
		},
	}
	if svc == "celerybeat" {
		// Exactly one scheduler: never two during a rollout.
		dep.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	}
	return dep
}

// workloadPatch is the per-environment strategic-merge patch of a service's
// Deployment.
func workloadPatch(d *Deployment, env *EnvModel, svc string, s *settingsData) *deploymentPatch {
	p := &deploymentPatch{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		Metadata: patchMeta{Name: d.ObjectName(svc), Namespace: d.Namespace},
	}
	p.Spec.Replicas = ptr(env.Replicas[svc])
	annotations := map[string]string{}
	if usesBackendSettings(svc) {
		annotations[BackendChecksumAnnotation] = s.backendChecksum
	}
	if svc == "frontend" {
		annotations[FrontendChecksumAnnotation] = s.frontendChecksum
	}
	if s.domainVar && len(annotations) > 0 {
		annotations[ClusterDomainAnnotation] = clusterDomainVar
	}
	p.Spec.Template.Metadata.Annotations = annotations
	p.Spec.Template.Spec.Containers = []patchContainer{{Name: svc, Resources: env.Resources[svc]}}
	return p
}

// deploymentPatch holds the fields of an appsv1.Deployment that
// workloadPatch sets, in the same order and with the same JSON names, so
// that it serialises as that Deployment would, with a few fields for the
// encoder to walk instead of a hundred (TestDeploymentPatchMatches).
type deploymentPatch struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        patchMeta `json:"metadata"`
	Spec            struct {
		Replicas *int32 `json:"replicas,omitempty"`
		Template struct {
			Metadata struct {
				Annotations map[string]string `json:"annotations,omitempty"`
			} `json:"metadata"`
			Spec struct {
				Containers []patchContainer `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

type patchMeta struct {
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

type patchContainer struct {
	Name      string                      `json:"name"`
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`
}

func service(d *Deployment, svc string) *corev1.Service {
	port := servicePorts[svc]
	if svc == "web" {
		port = 80
	}
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta2(d.ObjectName(svc), d.Namespace, deploymentLabels(d, map[string]string{"app.kubernetes.io/component": svc})),
		Spec: corev1.ServiceSpec{
			Selector: selectorLabels(d, svc),
			Ports:    []corev1.ServicePort{{Name: "http", Port: port, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
}

func (r *renderer) ingress(d *Deployment, host string) *networkingv1.Ingress {
	pathType := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: meta2(d.ObjectName(""), d.Namespace, deploymentLabels(d, map[string]string{"app.kubernetes.io/component": "web"})),
		Spec: networkingv1.IngressSpec{
			TLS: []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: d.ObjectName("tls")}},
			Rules: []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &pathType, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: d.ObjectName("web"), Port: networkingv1.ServiceBackendPort{Name: "http"}},
				}}},
			}}}},
		},
	}
	if r.m.IngressClass != "" {
		ing.Spec.IngressClassName = ptr(r.m.IngressClass)
	}
	return ing
}

func certificate(d *Deployment, host string) *cmv1.Certificate {
	return &cmv1.Certificate{
		TypeMeta:   metav1.TypeMeta{APIVersion: cmv1.SchemeGroupVersion.String(), Kind: cmv1.CertificateKind},
		ObjectMeta: meta2(d.ObjectName("tls"), d.Namespace, deploymentLabels(d, nil)),
		Spec: cmv1.CertificateSpec{
			SecretName: d.ObjectName("tls"),
			DNSNames:   []string{host},
			IssuerRef:  cmmeta.IssuerReference{Kind: cmv1.ClusterIssuerKind, Name: d.ObjectName("acme-issuer"), Group: "cert-manager.io"},
		},
	}
}

func (r *renderer) backupCronJob(d *Deployment) *batchv1.CronJob {
	vols, mounts := volumesFor(d, "backend", "log", "var", "databaseBackups")
	env := append(backendEnv(d),
		valueEnv("RETENTION_COUNT", strconv.Itoa(int(d.RetentionCount))),
		valueEnv("RETENTION_DAYS", strconv.Itoa(int(d.RetentionDays))))
	return &batchv1.CronJob{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: metav1.ObjectMeta{
			Name: d.ObjectName("backup"), Namespace: d.Namespace,
			Labels:      deploymentLabels(d, map[string]string{"app.kubernetes.io/component": "backup"}),
			Annotations: map[string]string{substituteAnnotation: disabled},
		},
		Spec: batchv1.CronJobSpec{
			Schedule:                   d.BackupSchedule,
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			SuccessfulJobsHistoryLimit: ptr(int32(3)),
			FailedJobsHistoryLimit:     ptr(int32(3)),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				BackoffLimit: ptr(int32(2)),
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: deploymentLabels(d, map[string]string{"app.kubernetes.io/component": "backup"})},
					Spec: corev1.PodSpec{
						RestartPolicy:    corev1.RestartPolicyNever,
						SecurityContext:  podSecurity(),
						ImagePullSecrets: pullSecrets(d, "backend"),
						Volumes:          vols,
						Containers: []corev1.Container{{
							Name: "backup", Image: d.Image(r.m.Registry, "backend"),
							Command: shell(mustTemplate("backup.sh")), Env: env, VolumeMounts: mounts,
							Resources: jobResources(),
						}},
					},
				},
			}},
		},
	}
}

// baseDir is the app stage's directory of what every environment shares;
// each environment's overlay is its sibling, so no environment may take
// its name.
const baseDir = "base"

// escapeVars protects every "$" in user-supplied text from Flux's
// post-build substitution: kustomize-controller turns "$$" back into "$".
func escapeVars(s string) string { return strings.ReplaceAll(s, "$", "$$") }

// renderSettings builds the backend and frontend settings ConfigMaps of d in
// env. User text is escaped for Flux's substitution; the host may hold
// ${CLUSTER_DOMAIN}, which Flux fills in.
func renderSettings(m *Model, d *Deployment, env *EnvModel) (*settingsData, error) {
	host := env.Host(d, clusterDomainVar)
	origin := "https://" + host
	var extra []map[string]string
	for _, k := range sortedKeys(d.Spec.Settings) {
		lit, err := pythonLiteral(d.Spec.Settings[k])
		if err != nil {
			return nil, fmt.Errorf("spec.settings.%s: %w", k, err)
		}
		extra = append(extra, map[string]string{"Name": k, "Value": escapeVars(lit)})
	}
	backend, err := executeTemplate("settings.py.tmpl", map[string]any{
		"Namespace": d.Namespace, "Name": d.Name,
		"Host": rawHost(host), "Origin": rawHost(origin),
		"DBHost": d.DB.Spec.Hostname, "DBPort": strconv.Itoa(int(d.DB.Spec.Port)), "DBName": d.DB.Spec.DatabaseName,
		"RedisHostPort": net.JoinHostPort(d.Redis.Spec.Hostname, strconv.Itoa(int(d.Redis.Spec.Port))), "RedisDB": d.Redis.Spec.DatabaseID,
		"Backups": d.Backups || d.BackupFirst, "Extra": extra,
	})
	if err != nil {
		return nil, err
	}
	enduser, err := frontendConfig(origin, "enduser", frontendExtra(d, "enduser"))
	if err != nil {
		return nil, err
	}
	staff, err := frontendConfig(origin, "staff", frontendExtra(d, "staff"))
	if err != nil {
		return nil, err
	}
	s := &settingsData{
		backend:  configMap(d, d.ObjectName("backend-settings"), map[string]string{"settings": backend}),
		frontend: configMap(d, d.ObjectName("frontend-settings"), map[string]string{"enduserConfigFile": enduser, "staffConfigFile": staff}),
	}
	s.backendChecksum = checksum(backend)
	s.frontendChecksum = checksum(enduser, staff)
	s.domainVar = strings.Contains(host, clusterDomainVar)
	return s, nil
}

// clusterDomainVar is the runtime-info variable Flux replaces with the
// cluster's domain.
const clusterDomainVar = "${CLUSTER_DOMAIN}"

type rawHost string

func frontendExtra(d *Deployment, side string) map[string]json.RawMessage {
	if d.Spec.FrontendSettings == nil {
		return nil
	}
	if side == "staff" {
		return d.Spec.FrontendSettings.Staff
	}
	return d.Spec.FrontendSettings.Enduser
}

// frontendConfig builds a frontend JSON configuration file: the backend URL
// and the user's keys (which win), sorted, with user text escaped.
func frontendConfig(origin, side string, extra map[string]json.RawMessage) (string, error) {
	cfg := map[string]any{"backendApiUrl": origin + "/backend/api/", "frontend": side}
	for k, raw := range extra {
		var v any
		dec := json.NewDecoder(bytes.NewReader(raw))
		// Numbers as loaded: no float64 rounding, and a float keeps the
		// text settings.py gets (1.0, 1.2345678901234567e+19, see
		// floatText). JSON has one number type, and JavaScript reads 1.0
		// as 1, but the text stays what the spec wrote (a float, not an
		// integer) for readers that tell them apart, such as Python's
		// json module, and the two settings files agree.
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return "", err
		}
		cfg[escapeVars(k)] = escapeJSONStrings(v)
	}
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", err
	}
	return escapeJSONText(out) + "\n", nil
}

// plainRune reports whether r may be written as is in the settings files:
// printable (unicode.IsPrint), and text that survives the YAML round trip
// of Flux's substitution unchanged. kustomize-controller serialises each
// object to YAML (sigs.k8s.io/yaml), substitutes in the text and parses it
// again: a character YAML does not allow (U+007F, C1 controls, U+FFFE,
// U+FFFF) fails it, and a line break YAML knows beyond \n and \r (U+0085,
// U+2028, U+2029) may come back as a space. Everything else is written
// with the file's own escapes, which mean the same character.
func plainRune(r rune) bool {
	switch r {
	case '\u0085', '\u2028', '\u2029', '\ufeff': // YAML line breaks, byte order mark
		return false
	}
	return unicode.IsPrint(r) && yamlChar(r)
}

// yamlChar reports whether YAML allows r in a document (c-printable).
func yamlChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0x7e || r == 0x85 ||
		r >= 0xa0 && r <= 0xd7ff || r >= 0xe000 && r <= 0xfffd || r >= 0x10000 && r <= utf8.MaxRune
}

// escapeJSONText writes every character of a JSON text that is not
// plainRune as a \uXXXX escape (a surrogate pair above U+FFFF). Outside
// strings a JSON text is ASCII, and encoding/json already escapes the
// control characters below U+0020 in strings: what is left is U+007F and
// non-ASCII characters, in keys and values, where the escape means the
// same character.
func escapeJSONText(out []byte) string {
	var b strings.Builder
	b.Grow(len(out))
	for len(out) > 0 {
		r, size := utf8.DecodeRune(out)
		switch {
		case r < utf8.RuneSelf && r != 0x7f, size > 1 && plainRune(r):
			b.Write(out[:size])
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
		default: // includes invalid UTF-8, which encoding/json never writes
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		out = out[size:]
	}
	return b.String()
}

func escapeJSONStrings(v any) any {
	switch t := v.(type) {
	case string:
		return escapeVars(t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[escapeVars(k)] = escapeJSONStrings(e)
		}
		return out
	case []any:
		for i, e := range t {
			t[i] = escapeJSONStrings(e)
		}
		return t
	}
	return v
}

// pythonLiteral renders a JSON value as a Python literal: strings quoted and
// escaped (every character that is not plainRune too), true/false/null as
// True/False/None, objects with sorted keys, numbers as written (which
// Python reads as the same int or float: Load writes floats with a decimal
// point or an exponent, see floatText).
func pythonLiteral(raw json.RawMessage) (string, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("not a value fleiogen can write as Python: %w", err)
	}
	var b strings.Builder
	writePython(&b, v)
	return b.String(), nil
}

func writePython(b *strings.Builder, v any) {
	switch t := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if t {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case json.Number:
		b.WriteString(t.String())
	case string:
		b.WriteByte('\'')
		for _, r := range t {
			switch {
			case r == '\\' || r == '\'':
				b.WriteByte('\\')
				b.WriteRune(r)
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\r':
				b.WriteString(`\r`)
			case r == '\t':
				b.WriteString(`\t`)
			case plainRune(r):
				b.WriteRune(r)
			case r <= 0xff:
				fmt.Fprintf(b, `\x%02x`, r)
			case r <= 0xffff:
				fmt.Fprintf(b, `\u%04x`, r)
			default:
				fmt.Fprintf(b, `\U%08x`, r)
			}
		}
		b.WriteByte('\'')
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteString(", ")
			}
			writePython(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writePython(b, k)
			b.WriteString(": ")
			writePython(b, t[k])
		}
		b.WriteByte('}')
	}
}

// pyTemplateFunc is the "py" function of settings.py.tmpl: a Python literal
// with "$" escaped for Flux, except for host names.
func pyTemplateFunc(v any) (string, error) {
	if h, ok := v.(rawHost); ok {
		// Host names are validated DNS names plus ${CLUSTER_DOMAIN}:
		// quoted, not escaped, so that Flux substitutes the variable.
		return "'" + string(h) + "'", nil
	}
	// The common cases without the JSON round trip (which would turn
	// invalid UTF-8 into U+FFFD, as validUTF8 does).
	switch t := v.(type) {
	case string:
		var b strings.Builder
		writePython(&b, validUTF8(t))
		return escapeVars(b.String()), nil
	case int:
		return strconv.Itoa(t), nil
	case int32:
		return strconv.FormatInt(int64(t), 10), nil
	case int64:
		return strconv.FormatInt(t, 10), nil
	case bool:
		if t {
			return "True", nil
		}
		return "False", nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	lit, err := pythonLiteral(raw)
	return escapeVars(lit), err
}
