package generator

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/robfig/cron/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	sigsyaml "sigs.k8s.io/yaml"
)

// maxNameLength keeps every derived name within Kubernetes' limits: the
// longest DNS-label name is the CronJob fleio-<name>-backup, whose Jobs
// get an 11-character suffix (52 characters in all).
const maxNameLength = 52 - len("fleio--backup")

// Why a setting that holds a secret is refused, after what it holds.
const (
	backendSecretWhy  = "settings are written to git, in the backend-settings ConfigMap; a secret belongs in a Secret"
	frontendSecretWhy = "frontend settings are written to git, and served to every browser"
)

// secretMessage is the message for a secret found in a setting: by its
// name ("looks like a secret") or by its value ("holds a URL with a
// password"), never quoting the value.
func secretMessage(f secretFound, why string) string {
	if f.Value == "" {
		return "looks like a secret: " + why
	}
	return "holds " + f.Value + ": " + why
}

// maxSettingsSize bounds the settings as rendered: the user's lines of
// settings.py in the backend-settings ConfigMap, and the two frontend JSON
// files of the frontend-settings ConfigMap. 1 MiB (what Kubernetes allows
// a ConfigMap's data), less room for what fleiogen adds: the rest of
// settings.py, the data keys, a host longer than spec.domain.
const maxSettingsSize = 1<<20 - 16<<10

// settingLineSize is the size of a setting's line in settings.py as
// settings.py.tmpl renders it: "NAME = <literal>\n", every $ of the
// literal doubled (escapeVars).
func settingLineSize(name, literal string) int {
	return len(name) + len(" = ") + len(literal) + strings.Count(literal, "$") + len("\n")
}

// managedSettings are the Django settings templates/settings.py.tmpl sets.
var managedSettings = map[string]bool{
	"DEBUG": true, "ALLOWED_HOSTS": true, "CSRF_TRUSTED_ORIGINS": true, "FRONTEND_URL": true, "SECRET_KEY": true, "SSO_SALT": true,
	"DATABASES": true, "REDIS_URL": true, "CELERY_BROKER_URL": true, "CELERY_RESULT_BACKEND": true, "LOG_DIR": true, "TMP_DIR": true,
	"DBBACKUP_STORAGE": true, "DBBACKUP_STORAGE_OPTIONS": true, "DBBACKUP_CLEANUP_KEEP": true,
}

// managedFrontendKeys are the keys fleiogen writes into each frontend
// configuration file (frontendConfig).
// The value says what fleiogen puts there.
var managedFrontendKeys = map[string]string{
	"backendApiUrl": "the backend's URL on the deployment's host",
	"frontend":      "which frontend the file configures, enduser or staff",
}

// maxNamespaceLength keeps tenant-<namespace>, a Flux Kustomization's name,
// within 63 characters: kustomize-controller puts that name in a label on
// every object it applies.
const maxNamespaceLength = 63 - len(tenantKustomizPrefix)

const namespaceTooLong = "%q is too long: at most %d characters, so that the Kustomization tenant-<namespace> fits in a label"

var (
	versionRe     = regexp.MustCompile(`^(\d{4})\.(\d{2})\.(\d+)$`)
	settingNameRe = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	dbNameRe      = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	digitsRe      = regexp.MustCompile(`^[0-9]+$`)
	licenseUUIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)
	// imageRe is a container image reference: registry[:port]/path[:tag][@digest].
	imageRe = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(\.[a-z0-9-]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$`)
	// branchRe accepts what git check-ref-format accepts for a branch, minus
	// a few rarely used characters.
	// repoSchemeRe is the scheme part of the GitRepository CRD's URL
	// pattern, ^(http|https|ssh)://.*$, which is case-sensitive.
	repoSchemeRe      = regexp.MustCompile(`^(http|https|ssh)://`)
	branchRe          = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_./-]*$`)
	reservedNamespace = map[string]bool{"flux-system": true, "kube-system": true, "kube-public": true, "kube-node-lease": true, "cert-manager": true, "default": true}
	cronParser        = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
)

type validator struct {
	specs    *Specs
	problems Problems
	// badDomain marks clusters whose domain is reported: hosts made from
	// it are not reported again.
	badDomain map[string]bool
	// badSpecDomain marks the deployments whose spec.domain is reported
	// (or lost): hosts made from it are not checked.
	badSpecDomain map[*Deployment]bool
	// badMeta marks the objects (kind, namespace, name) whose name or
	// namespace is reported, the namespace "" when it is unknown: a
	// reference to one is not also "not found".
	badMeta map[[3]string]bool
	// alone says that only the checks of each object on its own run, not
	// those across objects (see across): Load could not read a document
	// whole, or there is no Fleet.
	alone bool
}

// at reports a problem of one object, found in its own fields (for an
// object without a namespace, with the Fleet's spec.defaultNamespace).
func (v *validator) at(obj any, field, format string, args ...any) {
	src := v.specs.SourceOf(obj)
	if src.reported(field) {
		return // Load reported this field already
	}
	v.problems = append(v.problems, Problem{File: src.File, Line: src.LineOf(field), Field: field, Message: fmt.Sprintf(format, args...)})
}

// across reports a problem found by comparing objects: a reference, a
// duplicate, where a deployment runs and what it serves. Not when v.alone:
// what Load could not read would be reported as missing or wrong.
func (v *validator) across(obj any, field, format string, args ...any) {
	if !v.alone {
		v.at(obj, field, format, args...)
	}
}

// Validate checks the loaded specs and returns the model to render, or every
// problem found, Load's included. When Load could not read a document
// whole, or a value of the Fleet or of an object's name or namespace, or
// there is no Fleet, each object's own fields are still checked, but not
// what relates objects (references, duplicates, tenants and hosts): those
// checks would report what is missing as other problems. No check compares
// with a value Load could not read.
func Validate(specs *Specs) (*Model, error) {
	v := &validator{specs: specs, badMeta: map[[3]string]bool{}, alone: specs.whole || specs.Fleet == nil}
	m := v.validate()
	if problems := append(slices.Clone(specs.loadProblems), v.problems...); len(problems) > 0 {
		return nil, problems.sorted()
	}
	return m, nil
}

func (v *validator) validate() *Model {
	s := v.specs
	f := s.Fleet
	if f == nil {
		if !s.whole { // else the Fleet may be in what Load could not read
			// At the first spec file, or the directory when none holds
			// a spec (only generated files, or other documents).
			file, line := s.dir, 0
			for _, src := range s.sources {
				if line == 0 || src.File < file {
					file, line = src.File, 1
				}
			}
			v.problems = append(v.problems, Problem{File: file, Line: line, Message: fmt.Sprintf("no Fleet found: add a %s Fleet that names the repository and the clusters", FleetAPIVersion)})
		}
		// The objects are still checked, each on its own; the model's
		// Fleet values are the defaults, and nothing is checked against
		// them.
		f = &Fleet{}
	}
	m := &Model{
		Repository:   f.Spec.Repository,
		Registry:     orDefault(f.Spec.Images.Registry, DefaultRegistry),
		IngressClass: f.Spec.Ingress.ClassName,
		CertManager:  orDefault(f.Spec.CertManager.ChartVersion, DefaultCertManagerVer),
		ToolsImage:   orDefault(f.Spec.Tools.Image, DefaultToolsImage),
		SetLicense:   orDefault(f.Spec.Tools.SetLicenseCommand, DefaultSetLicenseShell),
		Environments: map[string]*EnvModel{},
	}
	if s.Fleet != nil {
		v.fleet(f, m)
	}

	// The Fleet's default namespace is unknown when the Fleet, or its
	// spec.defaultNamespace, could not be read.
	defaultKnown := s.Fleet != nil && !s.FleetSource.lostAt("spec.defaultNamespace")
	// namespaceOf returns an object's namespace, the Fleet's default when
	// it names none, or "" when it is unknown (and reported, unless that
	// would report a lost value).
	namespaceOf := func(obj any, meta *string) string {
		switch {
		case *meta != "" || s.SourceOf(obj).lostAt("metadata.namespace"):
			// written, or lost (Load reported it): not the Fleet's default
		case !defaultKnown:
		case f.Spec.DefaultNamespace == "":
			v.at(obj, "metadata.namespace", "required (or set spec.defaultNamespace in the Fleet)")
		default:
			*meta = f.Spec.DefaultNamespace
		}
		return *meta
	}
	type key struct{ kind, ns, name string }
	seen := map[key]any{}
	checkMeta := func(obj any, kind, name string, ns *string) bool {
		namespace := namespaceOf(obj, ns)
		ok := namespace != "" // else reported, or lost
		if name == "" {
			v.at(obj, "metadata.name", "required")
			ok = false
		} else if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			v.at(obj, "metadata.name", "%q is not a valid name (a DNS label: lower case letters, digits and '-')", name)
			ok = false
		}
		if namespace != "" {
			if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
				v.at(obj, "metadata.namespace", "%q is not a valid namespace: %s", namespace, strings.Join(errs, "; "))
				ok = false
			} else if len(namespace) > maxNamespaceLength {
				v.at(obj, "metadata.namespace", namespaceTooLong, namespace, maxNamespaceLength)
				ok = false
			} else if reservedNamespace[namespace] {
				move := ""
				if namespace == "default" {
					move = ". A deployment the operator ran in default keeps its data only if its PVCs and its Secret fleio-<name>-deployment-keys (the secret key the database depends on) move with it: see \"Moving from the operator\" in fleiogen's README"
				}
				v.at(obj, "metadata.namespace", "%q is reserved; Fleio tenants need a namespace of their own%s", namespace, move)
				ok = false
			}
		}
		k := key{kind, namespace, name}
		if first, dup := seen[k]; dup && name != "" && namespace != "" {
			src := s.SourceOf(first)
			v.across(obj, "metadata.name", "duplicate %s %q in namespace %q (first defined at %s:%d)", kind, name, namespace, src.File, src.Line)
			ok = false
		} else {
			seen[k] = obj
		}
		if !ok {
			v.badMeta[[3]string{kind, namespace, name}] = true
		}
		return ok
	}

	dbs := map[[2]string]*FleioDbConnection{}
	for _, db := range s.DbConnections {
		if checkMeta(db, KindFleioDbConnection, db.Metadata.Name, &db.Metadata.Namespace) {
			dbs[[2]string{db.Metadata.Namespace, db.Metadata.Name}] = db
		}
		v.host(db, "spec.hostname", db.Spec.Hostname)
		v.port(db, "spec.port", db.Spec.Port)
		v.secretName(db, "spec.credentialsSecret", db.Spec.CredentialsSecret, true)
		if !dbNameRe.MatchString(db.Spec.DatabaseName) {
			v.at(db, "spec.databaseName", "%q is not a valid MariaDB database name (1 to 64 letters, digits, _ or -)", db.Spec.DatabaseName)
		}
	}
	redises := map[[2]string]*FleioRedisConnection{}
	for _, r := range s.RedisConnections {
		if checkMeta(r, KindFleioRedisConnection, r.Metadata.Name, &r.Metadata.Namespace) {
			redises[[2]string{r.Metadata.Namespace, r.Metadata.Name}] = r
		}
		v.host(r, "spec.hostname", r.Spec.Hostname)
		v.port(r, "spec.port", r.Spec.Port)
		v.secretName(r, "spec.credentialsSecret", r.Spec.CredentialsSecret, true)
		if !digitsRe.MatchString(r.Spec.DatabaseID) || len(r.Spec.DatabaseID) > 5 {
			v.at(r, "spec.databaseId", "%q is not a Redis database number (a string of digits such as \"0\")", r.Spec.DatabaseID)
		}
	}

	tenants := map[string]*Tenant{}
	// hasDeployment counts namespaces with a FleioDeployment, valid or not,
	// so an invalid one is not also reported as missing; "" counts one
	// whose namespace is unknown (and reported), which may be any tenant's.
	hasDeployment := map[string]bool{}
	shared := sharedStores{v: v, dbs: map[string][]storeUser{}, redises: map[string][]storeUser{}, together: runTogether(s.Fleet)}
	for _, fd := range s.Deployments {
		metaOK := checkMeta(fd, KindFleioDeployment, fd.Metadata.Name, &fd.Metadata.Namespace)
		hasDeployment[fd.Metadata.Namespace] = true // after checkMeta gave it the Fleet's default
		if len(fd.Metadata.Name) > maxNameLength {
			v.at(fd, "metadata.name", "%q is too long: at most %d characters, so that derived names such as fleio-<name>-backup fit Kubernetes' limits", fd.Metadata.Name, maxNameLength)
			metaOK = false
		}
		d, valid := v.deployment(fd, m, dbs, redises)
		if !metaOK {
			continue
		}
		shared.check(fd, dbs, redises)
		// A deployment with a problem in its own fields is still placed,
		// so that the checks across objects (the clusters that run its
		// namespace, its name per cluster, its host) report their problems
		// in the same run; the model is not rendered then.
		t := tenants[d.Namespace]
		if t == nil {
			t = &Tenant{Namespace: d.Namespace}
			tenants[d.Namespace] = t
		}
		t.Deployments = append(t.Deployments, d)
		if valid {
			m.Deployments = append(m.Deployments, d)
		}
	}
	for _, ns := range sortedKeys(tenants) {
		m.Tenants = append(m.Tenants, tenants[ns])
	}
	sort.Slice(m.Deployments, func(i, j int) bool {
		a, b := m.Deployments[i], m.Deployments[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	if s.Fleet != nil {
		v.placement(f, m, tenants, hasDeployment)
	}
	return m
}

// redactUserinfo returns a URL with what is between "://" and the "@"
// that ends its userinfo replaced by "<credentials>", unless that is only
// an SSH user name (ssh://git@host): a message may quote the URL, but not
// a password or token in it.
func redactUserinfo(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return raw
	}
	rest := raw[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 || strings.EqualFold(raw[:i], "ssh") && !strings.Contains(rest[:at], ":") {
		return raw
	}
	return raw[:i+3] + "<credentials>" + rest[at:]
}

// storeUser is the first deployment that uses a database or a Redis
// database, and the connection it uses it through.
type storeUser struct {
	fd   *FleioDeployment
	conn string
}

// sharedStores refuses two FleioDeployments on one database, or on one
// Redis database: through the same connection, or through connections with
// the same host (in any case), port and database. Both would migrate and
// write one schema, or share Celery's queues, each with its own secret
// key. Only deployments that some cluster runs together are compared (the
// same namespace, or two namespaces one cluster both runs): on clusters
// apart, one name may well reach a server per cluster (a Service name),
// which fleiogen cannot tell from one server both reach. The second
// deployment, in file order, is reported.
type sharedStores struct {
	v            *validator
	dbs, redises map[string][]storeUser // by host:port/database
	// together reports whether some cluster runs both namespaces.
	together func(a, b string) bool
}

// runTogether returns whether some cluster of f runs both namespaces (a
// namespace always runs with itself).
func runTogether(f *Fleet) func(a, b string) bool {
	return func(a, b string) bool {
		if a == b || f == nil {
			return true
		}
		for _, c := range f.Spec.Clusters {
			if slices.Contains(c.Tenants, a) && slices.Contains(c.Tenants, b) {
				return true
			}
		}
		return false
	}
}

func (sh *sharedStores) check(fd *FleioDeployment, dbs map[[2]string]*FleioDbConnection, redises map[[2]string]*FleioRedisConnection) {
	ns := fd.Metadata.Namespace
	if db := dbs[[2]string{ns, fd.Spec.DatabaseConnection}]; db != nil {
		where := net.JoinHostPort(strings.ToLower(db.Spec.Hostname), strconv.Itoa(int(db.Spec.Port))) + "/" + db.Spec.DatabaseName
		sh.use(sh.dbs, where, fd, "spec.databaseConnection", KindFleioDbConnection, db.Metadata.Name,
			"database", "both would migrate and write the same schema, each with its own secret key; give each deployment a database of its own (spec.databaseName of its FleioDbConnection)")
	}
	if r := redises[[2]string{ns, fd.Spec.RedisConnection}]; r != nil {
		id := r.Spec.DatabaseID
		if n, err := strconv.Atoi(id); err == nil {
			id = strconv.Itoa(n) // "00" is database 0
		}
		where := net.JoinHostPort(strings.ToLower(r.Spec.Hostname), strconv.Itoa(int(r.Spec.Port))) + "/" + id
		sh.use(sh.redises, where, fd, "spec.redisConnection", KindFleioRedisConnection, r.Metadata.Name,
			"Redis database", "both would use the same Celery queues and results, each running the other's tasks with its own secret key; give each deployment a Redis database of its own (spec.databaseId of its FleioRedisConnection)")
	}
}

func (sh *sharedStores) use(users map[string][]storeUser, where string, fd *FleioDeployment, field, kind, conn, what, why string) {
	i := slices.IndexFunc(users[where], func(u storeUser) bool {
		return sh.together(u.fd.Metadata.Namespace, fd.Metadata.Namespace)
	})
	if i < 0 {
		users[where] = append(users[where], storeUser{fd: fd, conn: conn})
		return
	}
	first := users[where][i]
	through := ""
	if first.conn != conn || first.fd.Metadata.Namespace != fd.Metadata.Namespace {
		through = fmt.Sprintf(" through %s %q", kind, first.conn)
	}
	src := sh.v.specs.SourceOf(first.fd)
	sh.v.across(fd, field, "%s %s (%s %q) is also used by FleioDeployment %s/%s%s (%s:%d): %s",
		what, where, kind, conn, first.fd.Metadata.Namespace, first.fd.Metadata.Name, through, src.File, src.Line, why)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (v *validator) fleet(f *Fleet, m *Model) {
	raw := f.Spec.Repository.URL
	u, err := url.Parse(raw)
	shown := redactUserinfo(raw) // the URL as messages quote it
	switch {
	case raw == "":
		v.at(f, "spec.repository.url", "required: the fleet Git repository Flux reads")
	case strings.ContainsFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		v.at(f, "spec.repository.url", "%q holds a space or control character, which a Git URL cannot hold (percent-encode it, such as %%20 for a space)", shown)
	case err == nil && u.Host != "" && !repoSchemeRe.MatchString(raw) && (u.Scheme == "https" || u.Scheme == "http" || u.Scheme == "ssh"):
		v.at(f, "spec.repository.url", "%q: write the scheme in lower case (%s://): the GitRepository's URL pattern is case-sensitive", shown, u.Scheme)
	case err != nil || u.Host == "" || !repoSchemeRe.MatchString(raw):
		v.at(f, "spec.repository.url", "%q is not a Git URL Flux accepts (https://host/path or ssh://git@host/path)", shown)
	case hostPortProblem(u.Host) != "":
		v.at(f, "spec.repository.url", "%q: %s", shown, hostPortProblem(u.Host))
	case u.User != nil && (u.Scheme != "ssh" || func() bool { _, set := u.User.Password(); return set }()):
		v.at(f, "spec.repository.url", "credentials in the URL would be written to git in every tenant's GitRepository; remove them and put them in the Secret spec.repository.secretRef names (flux create secret git)")
	case u.RawQuery != "" || u.Fragment != "":
		v.at(f, "spec.repository.url", "%q has a query or fragment; a Git URL has neither (credentials belong in spec.repository.secretRef)", shown)
	case strings.Contains(raw, "$"):
		v.at(f, "spec.repository.url", "%q holds a $, which Flux would read as a ${...} variable", shown)
	}
	v.secretName(f, "spec.repository.secretRef", f.Spec.Repository.SecretRef, false)
	if ns := f.Spec.DefaultNamespace; ns != "" {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			v.at(f, "spec.defaultNamespace", "%q is not a valid namespace: %s", ns, strings.Join(errs, "; "))
		}
	}
	if r := f.Spec.Images.Registry; r != "" && !imageRe.MatchString(r+"/x") {
		shown := r
		if at := strings.LastIndexByte(r, '@'); at >= 0 {
			shown = "<credentials>" + r[at:] // user:password@host: never echoed
		}
		v.at(f, "spec.images.registry", "%q is not a registry host with an optional path", shown)
	} else if why := registryProblem(r + "/x"); r != "" && why != "" {
		v.at(f, "spec.images.registry", "%q: %s", r, why)
	}
	m.Registry = strings.TrimSuffix(m.Registry, "/")
	v.secretName(f, "spec.images.pullSecret", f.Spec.Images.PullSecret, false)
	if c := f.Spec.Ingress.ClassName; c != "" {
		if errs := validation.IsDNS1123Subdomain(c); len(errs) > 0 {
			v.at(f, "spec.ingress.className", "%q is not a valid IngressClass name", c)
		}
	}
	if cv := f.Spec.CertManager.ChartVersion; cv != "" && !regexp.MustCompile(`^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$`).MatchString(cv) {
		v.at(f, "spec.certManager.chartVersion", "%q is not a semantic version such as v1.19.1", cv)
	}
	if img := f.Spec.Tools.Image; img != "" && !imageRe.MatchString(img) {
		v.at(f, "spec.tools.image", "%q is not a valid image reference", img)
	} else if why := registryProblem(img); why != "" {
		v.at(f, "spec.tools.image", "%q: %s", img, why)
	}
	// The license Job's command is written into every license/job.yaml,
	// which kustomize-controller reads back as YAML: a character YAML
	// forbids or folds (a control character, U+0085) would fail the stage
	// or change the script.
	if i := strings.IndexFunc(f.Spec.Tools.SetLicenseCommand, func(r rune) bool { return r != '\n' && r != '\t' && !plainRune(r) }); i >= 0 {
		r, _ := utf8.DecodeRuneInString(f.Spec.Tools.SetLicenseCommand[i:])
		v.at(f, "spec.tools.setLicenseCommand", "holds the unprintable character %U at byte %d: a shell command is printable text, tabs and newlines", r, i)
	}
	if c := f.Spec.Tools.SetLicenseCommand; c != "" && strings.TrimSpace(c) == "" {
		v.at(f, "spec.tools.setLicenseCommand", "only white space: the license Job would set no license and succeed; leave the field out for the default command")
	}
	if why := secretValue(f.Spec.Tools.SetLicenseCommand); why != "" {
		v.at(f, "spec.tools.setLicenseCommand", "holds %s: it is written to git, in each license Job; read a secret from the Job's environment or a Secret", why)
	}

	if len(f.Spec.Environments) == 0 {
		v.at(f, "spec.environments", "required: at least one environment (such as staging and production)")
	}
	refused := map[string]bool{} // environments reported by name: a cluster naming one is not reported again
	for i, e := range f.Spec.Environments {
		p := fmt.Sprintf("spec.environments[%d]", i)
		// An environment refused by its name still has its own fields
		// checked, so that their problems are reported in the same run.
		env := v.environment(f, p, e)
		if errs := validation.IsDNS1123Label(e.Name); len(errs) > 0 {
			v.at(f, p+".name", "%q is not a valid environment name (a DNS label: it names overlay directories)", e.Name)
			refused[e.Name] = true
			continue
		}
		if e.Name == baseDir {
			v.at(f, p+".name", "%q is reserved: each deployment's app/%s/ holds what every environment shares, beside an overlay app/<environment>/ per environment", e.Name, baseDir)
			refused[e.Name] = true
			continue
		}
		v.retyped(f, p+".name", e.Name)
		if m.Environments[e.Name] != nil {
			v.at(f, p+".name", "duplicate environment %q", e.Name)
			continue
		}
		m.Environments[e.Name] = env
	}

	if len(f.Spec.Clusters) == 0 {
		v.at(f, "spec.clusters", "required: at least one cluster")
	}
	clusterNames := map[string]bool{}
	for i, c := range f.Spec.Clusters {
		p := fmt.Sprintf("spec.clusters[%d]", i)
		if errs := validation.IsDNS1123Label(c.Name); len(errs) > 0 {
			v.at(f, p+".name", "%q is not a valid cluster name (a DNS label: it names clusters/<name>)", c.Name)
		} else if !v.retyped(f, p+".name", c.Name) && clusterNames[c.Name] {
			v.at(f, p+".name", "duplicate cluster %q", c.Name)
		}
		clusterNames[c.Name] = true
		env := m.Environments[c.Environment]
		if env == nil && !refused[c.Environment] && !v.specs.SourceOf(f).lostAt("spec.environments") {
			v.at(f, p+".environment", "environment %q is not defined in spec.environments (defined: %s)", c.Environment, strings.Join(sortedKeys(m.Environments), ", "))
		}
		if !validBranch(c.Branch) {
			v.at(f, p+".branch", "%q is not a valid Git branch name", c.Branch)
		} else {
			v.retyped(f, p+".branch", c.Branch)
		}
		if !v.domain(f, p+".domain", c.Domain) || v.retyped(f, p+".domain", c.Domain) {
			if v.badDomain == nil {
				v.badDomain = map[string]bool{}
			}
			v.badDomain[c.Name] = true
		}
		switch c.CertManager {
		case "":
			c.CertManager = CertManagerInstall
		case CertManagerInstall, CertManagerExisting:
		default:
			v.at(f, p+".certManager", "%q is not one of: %s, %s", c.CertManager, CertManagerInstall, CertManagerExisting)
		}
		// The model's tenants are the valid ones, each once: placement
		// checks them, and a tenant reported here is not reported again
		// (as a namespace without a FleioDeployment, or a deployment that
		// the cluster would run twice).
		seen := map[string]bool{}
		var tenants []string
		for j, t := range c.Tenants {
			tp := fmt.Sprintf("%s.tenants[%d]", p, j)
			switch {
			case v.specs.SourceOf(f).nullAt(tp):
				v.at(f, tp, "empty (null): write the namespace of the FleioDeployments the cluster runs, or remove the entry")
			case len(validation.IsDNS1123Label(t)) > 0:
				v.at(f, tp, "%q is not a valid namespace", t)
			case len(t) > maxNamespaceLength:
				v.at(f, tp, namespaceTooLong, t, maxNamespaceLength)
			case seen[t]:
				v.at(f, tp, "duplicate tenant %q", t)
			default:
				tenants = append(tenants, t)
			}
			seen[t] = true
		}
		c.Tenants = tenants
		m.Clusters = append(m.Clusters, &ClusterModel{Cluster: c, Env: env})
	}
	sort.Slice(m.Clusters, func(i, j int) bool { return m.Clusters[i].Name < m.Clusters[j].Name })
}

func (v *validator) environment(f *Fleet, p string, e Environment) *EnvModel {
	env := &EnvModel{
		Name:         e.Name,
		HostTemplate: orDefault(e.HostTemplate, DefaultHostTemplate),
		Replicas:     map[string]int32{},
		Resources:    map[string]corev1.ResourceRequirements{},
		StorageClass: e.Storage.ClassName,
		AccessMode:   corev1.PersistentVolumeAccessMode(orDefault(e.Storage.AccessMode, DefaultAccessMode)),
		Sizes:        map[string]resource.Quantity{},
		ACMEServer:   orDefault(e.ACME.Server, DefaultACMEServer),
		ACMEEmail:    e.ACME.Email,
	}
	known := map[string]bool{}
	for _, s := range Services {
		known[s] = true
	}
	for _, svc := range sortedKeys(e.Replicas) {
		n := e.Replicas[svc]
		switch {
		case !known[svc]:
			v.at(f, p+".replicas."+svc, "unknown service (allowed: %s)", strings.Join(Services, ", "))
		case v.specs.SourceOf(f).nullAt(p + ".replicas." + svc):
			v.at(f, p+".replicas."+svc, "empty (null): write a number of replicas, 0 to 100 (celerybeat: 1), or remove the entry for the default, 1")
		case svc == "celerybeat" && n != 1:
			v.at(f, p+".replicas."+svc, "celerybeat is Celery's scheduler and must run exactly one replica, got %d", n)
		case n < 0 || n > 100:
			v.at(f, p+".replicas."+svc, "%d is out of range (0 to 100)", n)
		}
	}
	for _, s := range Services {
		env.Replicas[s] = 1
		if n, ok := e.Replicas[s]; ok && s != "celerybeat" {
			env.Replicas[s] = n
		}
	}
	for _, svc := range sortedKeys(e.Resources) {
		if !known[svc] && svc != "default" {
			v.at(f, p+".resources."+svc, "unknown service (allowed: default, %s)", strings.Join(Services, ", "))
			continue
		}
		r := e.Resources[svc]
		if cp := p + ".resources." + svc + ".claims"; v.specs.SourceOf(f).has(cp) {
			v.at(f, cp, "unsupported field: fleiogen does not render resource claims (allowed: limits, requests)")
		}
		for name, q := range r.Requests {
			if lim, ok := r.Limits[name]; ok && q.Cmp(lim) > 0 {
				v.at(f, p+".resources."+svc+".requests."+string(name), "request %s is above the limit %s", q.String(), lim.String())
			}
		}
		for _, l := range []struct {
			field string
			list  corev1.ResourceList
		}{{"requests", r.Requests}, {"limits", r.Limits}} {
			for _, name := range slices.Sorted(maps.Keys(l.list)) {
				q := l.list[name]
				switch {
				case name != corev1.ResourceCPU && name != corev1.ResourceMemory && name != corev1.ResourceEphemeralStorage:
					v.at(f, p+".resources."+svc, "unsupported resource %q (allowed: cpu, memory, ephemeral-storage)", name)
				case q.Sign() <= 0:
					v.at(f, p+".resources."+svc, "%s must be positive, got %s", name, q.String())
				case name != corev1.ResourceCPU && !wholeBytes(q):
					v.at(f, p+".resources."+svc+"."+l.field+"."+string(name), "%s is not a whole number of bytes (the API server warns, and a container cannot start with a fraction of a byte); write it like 512Mi or 1G", q.String())
				}
			}
		}
	}
	for _, s := range Services {
		r := resolveResources(s, e.Resources)
		env.Resources[s] = r
		// The merge of built-in, default and per-service values must still
		// have every request within its limit, or the apiserver refuses it.
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
			req, okReq := r.Requests[name]
			lim, okLim := r.Limits[name]
			if okReq && okLim && req.Cmp(lim) > 0 {
				v.at(f, p+".resources", "%s: the %s request %s is above the limit %s once defaults are applied; set resources.%s.limits.%s or lower the request",
					s, name, req.String(), lim.String(), s, name)
			}
		}
	}
	if e.Storage.ClassName != "" {
		if errs := validation.IsDNS1123Subdomain(e.Storage.ClassName); len(errs) > 0 {
			v.at(f, p+".storage.className", "%q is not a valid StorageClass name", e.Storage.ClassName)
		}
	}
	switch env.AccessMode {
	case corev1.ReadWriteOnce, corev1.ReadWriteMany:
	case corev1.ReadWriteOncePod:
		v.at(f, p+".storage.accessMode", "ReadWriteOncePod lets a single pod use a volume, but each of a deployment's volumes is mounted by several pods "+
			"(every service's Deployment and its replicas, and the Jobs), so all but one would stay Pending: "+
			"use ReadWriteMany, or ReadWriteOnce on a single-node cluster or node-local storage such as local-path")
	default:
		v.at(f, p+".storage.accessMode", "%q is not one of: ReadWriteOnce, ReadWriteMany", env.AccessMode)
	}
	for _, k := range sortedKeys(e.Storage.Sizes) {
		if _, ok := defaultSizes[k]; !ok {
			v.at(f, p+".storage.sizes."+k, "unknown volume (allowed: %s)", strings.Join(sortedKeys(defaultSizes), ", "))
		} else if q := e.Storage.Sizes[k]; q.Sign() <= 0 {
			v.at(f, p+".storage.sizes."+k, "size must be positive, got %s", q.String())
		} else if !wholeBytes(q) {
			v.at(f, p+".storage.sizes."+k, "%s is not a whole number of bytes; write it like 5Gi", q.String())
		}
	}
	for k, def := range defaultSizes {
		q, ok := e.Storage.Sizes[k]
		if !ok {
			q = resource.MustParse(def)
		}
		env.Sizes[k] = q
	}
	switch e.Issuer {
	case "":
	case IssuerACME:
		env.ACMEAlways = true
	case IssuerSelfSigned:
		env.SelfSigned = true
		if e.ACME != (ACME{}) {
			v.at(f, p+".acme", "set, but issuer is %s, which uses no ACME server; remove acme or the issuer", IssuerSelfSigned)
		}
	default:
		v.at(f, p+".issuer", "%q is not an issuer kind (allowed: %s, %s)", e.Issuer, IssuerACME, IssuerSelfSigned)
	}
	if u, err := url.Parse(env.ACMEServer); err != nil || u.Scheme != "https" || u.Host == "" || strings.ContainsFunc(env.ACMEServer, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		v.at(f, p+".acme.server", "%q is not an https URL of an ACME directory", redactUserinfo(env.ACMEServer))
	} else if u.User != nil {
		v.at(f, p+".acme.server", "holds credentials (user@ or user:password@): it is written to git, in each ClusterIssuer; an ACME directory URL has none")
	} else if why := hostPortProblem(u.Host); why != "" {
		v.at(f, p+".acme.server", "%q: %s", env.ACMEServer, why)
	}
	if e.ACME.Email != "" {
		if a, err := mail.ParseAddress(e.ACME.Email); err != nil || a.Address != e.ACME.Email {
			v.at(f, p+".acme.email", "%q is not an e-mail address", e.ACME.Email)
		} else if domain := e.ACME.Email[strings.LastIndexByte(e.ACME.Email, '@')+1:]; !strings.Contains(domain, ".") {
			v.at(f, p+".acme.email", "%q has no domain with a dot: ACME servers (Let's Encrypt) refuse the account", e.ACME.Email)
		}
	}
	if err := checkHostTemplate(env.HostTemplate); err != nil {
		v.at(f, p+".hostTemplate", "%v", err)
	}
	return env
}

// resolveResources merges a service's resources over "default" over the
// built-in defaults, one quantity at a time.
func resolveResources(svc string, set map[string]corev1.ResourceRequirements) corev1.ResourceRequirements {
	d := defaultResources[svc]
	out := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(d[0]), corev1.ResourceMemory: resource.MustParse(d[1])},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(d[2]), corev1.ResourceMemory: resource.MustParse(d[3])},
	}
	for _, k := range []string{"default", svc} {
		r, ok := set[k]
		if !ok {
			continue
		}
		for n, q := range r.Requests {
			out.Requests[n] = q
		}
		for n, q := range r.Limits {
			out.Limits[n] = q
		}
	}
	return out
}

var placeholderRe = regexp.MustCompile(`\{[^{}]*\}`)

// checkHostTemplate checks that a host template uses only known placeholders.
func checkHostTemplate(t string) error {
	for _, ph := range placeholderRe.FindAllString(t, -1) {
		switch ph {
		case "{domain}", "{name}", "{namespace}", "{clusterDomain}":
		default:
			return fmt.Errorf("unknown placeholder %s in %q (allowed: {domain}, {name}, {namespace}, {clusterDomain})", ph, t)
		}
	}
	if strings.ContainsAny(t, "$") {
		return fmt.Errorf("%q: use {clusterDomain} rather than a ${...} variable", t)
	}
	return nil
}

// Host returns the public host of d in env. clusterDomain is substituted
// for {clusterDomain}; pass "${CLUSTER_DOMAIN}" to leave it to Flux.
func (env *EnvModel) Host(d *Deployment, clusterDomain string) string {
	t := env.HostTemplate
	var b strings.Builder
	for {
		i := strings.IndexByte(t, '{')
		if i < 0 {
			b.WriteString(t)
			return b.String()
		}
		b.WriteString(t[:i])
		t = t[i:]
		switch {
		case strings.HasPrefix(t, "{domain}"):
			b.WriteString(d.Spec.Domain)
		case strings.HasPrefix(t, "{name}"):
			b.WriteString(d.Name)
		case strings.HasPrefix(t, "{namespace}"):
			b.WriteString(d.Namespace)
		case strings.HasPrefix(t, "{clusterDomain}"):
			b.WriteString(clusterDomain)
		default: // validation allows no other placeholder
			b.WriteByte('{')
			t = t[1:]
			continue
		}
		t = t[strings.IndexByte(t, '}')+1:]
	}
}

// deployment checks a FleioDeployment's own fields and its references, and
// returns its model and whether it is valid. An invalid one's model is
// only placed on clusters, for the checks across objects.
func (v *validator) deployment(fd *FleioDeployment, m *Model, dbs map[[2]string]*FleioDbConnection, redises map[[2]string]*FleioRedisConnection) (*Deployment, bool) {
	spec := fd.Spec
	d := &Deployment{Name: fd.Metadata.Name, Namespace: fd.Metadata.Namespace, Spec: spec}
	ok := true
	bad := func(field, format string, args ...any) {
		v.at(fd, field, format, args...)
		ok = false
	}
	version := orDefault(spec.Version, DefaultVersion)
	versionOK := false
	if mm := versionRe.FindStringSubmatch(version); mm == nil {
		bad("spec.version", "%q is not a Fleio release (YYYY.MM.PATCH, such as %s)", version, DefaultVersion)
	} else {
		y, _ := strconv.Atoi(mm[1])
		mo, _ := strconv.Atoi(mm[2])
		pa, err := strconv.Atoi(mm[3])
		if err != nil || pa > 99999 {
			bad("spec.version", "%q is not a Fleio release (the patch number is too large)", version)
		} else if mo < 1 || mo > 12 || y < 2017 {
			bad("spec.version", "%q is not a Fleio release (month 01 to 12, year 2017 or later)", version)
		} else {
			// a lost spec.version is not the default: nothing is compared with it
			versionOK = !v.specs.SourceOf(fd).lostAt("spec.version")
		}
		d.Release = Release{Year: y, Month: mo, Patch: pa}
	}
	if spec.License.Key != "" || v.specs.SourceOf(fd).has(licenseKeyField) {
		name, ns := d.ObjectName("license"), d.Namespace
		if d.Name == "" { // unknown, and reported
			name = "fleio-<name>-license"
		}
		if ns == "" {
			ns = "<namespace>"
		}
		bad(licenseKeyField, "an inline license key would be committed to git; move it into a Secret and reference it: "+
			"kubectl create secret generic %s -n %s --from-literal=key=<license key>, then remove spec.license.key (spec.license.keySecret names the Secret; default %s)",
			orDefault(spec.License.KeySecret, name), ns, name)
	}
	if spec.License.UUID == "" {
		bad("spec.license.uuid", "required: the Fleio license ID")
	} else if !licenseUUIDRe.MatchString(spec.License.UUID) || len(spec.License.UUID) > 128 {
		bad("spec.license.uuid", "%q is not a license ID (letters, digits and dashes)", spec.License.UUID)
	}
	d.LicenseSecret = orDefault(spec.License.KeySecret, d.ObjectName("license"))
	if spec.License.KeySecret != "" {
		v.secretName(fd, "spec.license.keySecret", spec.License.KeySecret, true)
	}
	if spec.AdminCredentialsSecret == "" {
		bad("spec.adminCredentialsSecret", "required: a kubernetes.io/basic-auth Secret with the Fleio admin user")
	} else {
		v.secretName(fd, "spec.adminCredentialsSecret", spec.AdminCredentialsSecret, true)
	}
	var found bool
	d.DB, found = findConnection(v, fd, "spec.databaseConnection", KindFleioDbConnection, spec.DatabaseConnection, d.Namespace, dbs)
	ok = ok && found
	d.Redis, found = findConnection(v, fd, "spec.redisConnection", KindFleioRedisConnection, spec.RedisConnection, d.Namespace, redises)
	ok = ok && found
	if spec.Domain == "" {
		bad("spec.domain", "required: the public domain of this Fleio (localhost for a local install)")
		v.markBadSpecDomain(d)
	} else if !v.domain(fd, "spec.domain", spec.Domain) {
		ok = false
		v.markBadSpecDomain(d)
	}

	d.Backups = spec.EnableBackups.On()
	d.BackupSchedule = orDefault(spec.BackupSchedule, DefaultBackupSchedule)
	if spec.BackupSchedule != "" {
		if err := checkCron(spec.BackupSchedule); err != nil {
			bad("spec.backupSchedule", "%v", err)
		}
	}
	d.RetentionCount = DefaultRetentionCount
	if spec.BackupRetentionCount != nil {
		d.RetentionCount = *spec.BackupRetentionCount
		if d.RetentionCount < 1 || d.RetentionCount > 10000 {
			bad("spec.backupRetentionCount", "%d is out of range (1 to 10000)", d.RetentionCount)
		}
	}
	if spec.BackupRetentionDays != nil {
		d.RetentionDays = *spec.BackupRetentionDays
		if d.RetentionDays < 0 || d.RetentionDays > 36500 { // 0: no age limit, as when unset
			bad("spec.backupRetentionDays", "%d is out of range (0, no age limit, to 36500)", d.RetentionDays)
		}
	}
	// A backup before an upgrade is on by default, as with the operator,
	// also without scheduled backups (the database-backups volume is
	// always there); backupBeforeUpgrade: no turns it off.
	d.BackupFirst = spec.BackupBeforeUpgrade == nil || spec.BackupBeforeUpgrade.On()

	d.PullSecret = DefaultPullSecret
	if f := v.specs.Fleet; f != nil {
		d.PullSecret = orDefault(f.Spec.Images.PullSecret, DefaultPullSecret)
	}
	registry, _, _ := strings.Cut(m.Registry, "/")
	d.ToolsOnRegistry = registryHost(m.ToolsImage) == registry
	utils := false
	if a := spec.Advanced; a != nil {
		utils = a.DeployUtilsContainer.On()
		known := map[string]bool{}
		for _, s := range Services {
			known[s] = true
		}
		for _, svc := range sortedKeys(a.DeploymentsOverrides) {
			o := a.DeploymentsOverrides[svc]
			p := "spec.advanced.deploymentsOverrides." + svc
			if !known[svc] {
				bad(p, "unknown service (allowed: %s)", strings.Join(Services, ", "))
				continue
			}
			if o.ImagePath != "" && !imageRe.MatchString(o.ImagePath) {
				bad(p+".imagePath", "%q is not a valid image reference (registry/path[:tag][@sha256:digest])", o.ImagePath)
			} else if why := registryProblem(o.ImagePath); why != "" {
				bad(p+".imagePath", "%q: %s", o.ImagePath, why)
			} else if y, mo, ok := imageRelease(o.ImagePath); ok && versionOK && (y != d.Release.Year || mo != d.Release.Month) {
				jobs := ""
				if svc == "backend" {
					jobs = ", and the database Jobs, which run the backend's image, would migrate with it"
				}
				bad(p+".imagePath", "%q is an image of Fleio %d.%02d (its repository ends in -%d-%02d), but spec.version is %s: %s would run %d.%02d while the rest runs %d.%02d%s; "+
					"update the override to the %d.%02d image (repository ending in -%d-%02d) or remove it",
					o.ImagePath, y, mo, y, mo, version, svc, y, mo, d.Release.Year, d.Release.Month, jobs,
					d.Release.Year, d.Release.Month, d.Release.Year, d.Release.Month)
			}
			v.secretName(fd, p+".imagePullSecret", o.ImagePullSecret, false)
		}
	}
	for _, s := range Services {
		if s != "utils" || utils {
			d.Services = append(d.Services, s)
		}
	}
	settingsBytes := 0 // the settings' lines of settings.py, as rendered
	for _, k := range sortedKeys(spec.Settings) {
		switch {
		case !settingNameRe.MatchString(k):
			bad("spec.settings."+k, "not a Django setting name (upper case letters, digits and _, starting with a letter)")
		case managedSettings[k]:
			bad("spec.settings."+k, "set by fleiogen (from the connections, the domain and the Secrets); it cannot be overridden")
		case secretSettingValue(k, false, rawValue(spec.Settings[k])):
			bad("spec.settings."+k, "%s", secretMessage(secretFound{}, backendSecretWhy))
		default:
			for _, f := range secretsInside(spec.Settings[k], false) {
				bad("spec.settings."+k+f.Path, "%s", secretMessage(f, backendSecretWhy))
			}
		}
		if lit, err := pythonLiteral(spec.Settings[k]); err != nil {
			bad("spec.settings."+k, "%v", err)
		} else {
			settingsBytes += settingLineSize(k, lit)
		}
	}
	if settingsBytes > maxSettingsSize {
		bad("spec.settings", "%d bytes: the backend-settings ConfigMap would pass the 1 MiB Kubernetes allows", settingsBytes)
	}
	if fs := spec.FrontendSettings; fs != nil {
		for side, set := range map[string]map[string]json.RawMessage{"enduser": fs.Enduser, "staff": fs.Staff} {
			for _, k := range sortedKeys(set) {
				if k == "" {
					bad("spec.frontendSettings."+side, "empty key")
				} else if why := secretValue(k); why != "" {
					bad("spec.frontendSettings."+side, "%s", secretMessage(secretFound{Value: keyHolding(why)}, frontendSecretWhy))
				} else if what, ok := managedFrontendKeys[k]; ok {
					bad("spec.frontendSettings."+side+"."+k, "set by fleiogen (%s); it cannot be overridden", what)
				} else if secretSettingValue(k, true, rawValue(set[k])) {
					bad("spec.frontendSettings."+side+"."+k, "%s", secretMessage(secretFound{}, frontendSecretWhy))
				} else {
					for _, f := range secretsInside(set[k], true) {
						bad("spec.frontendSettings."+side+"."+k+f.Path, "%s", secretMessage(f, frontendSecretWhy))
					}
				}
			}
		}
		// The files as rendered (indented, escaped), the host being
		// spec.domain: maxSettingsSize leaves room for a longer one.
		n := 0
		for _, side := range []string{"enduser", "staff"} {
			if out, err := frontendConfig("https://"+spec.Domain, side, frontendExtra(d, side)); err == nil {
				n += len(out)
			}
		}
		if n > maxSettingsSize {
			bad("spec.frontendSettings", "%d bytes: the frontend-settings ConfigMap would pass the 1 MiB Kubernetes allows", n)
		}
	}
	return d, ok
}

func (v *validator) markBadSpecDomain(d *Deployment) {
	if v.badSpecDomain == nil {
		v.badSpecDomain = map[*Deployment]bool{}
	}
	v.badSpecDomain[d] = true
}

// imageReleaseRe is the end of a Fleio image repository's name: the
// release's year and month (fleio_backend-2025-06).
var imageReleaseRe = regexp.MustCompile(`-(\d{4})-(\d{2})$`)

// imageRelease returns the year and month of the Fleio release an image
// reference names by its repository, as in Release.Image
// (hub.fleio.com/fleio_backend-2025-06:1 is 2025.06), whatever its tag or
// digest; ok is false when the repository does not end in -YYYY-MM.
func imageRelease(ref string) (year, month int, ok bool) {
	repo, _, _ := strings.Cut(ref, "@")
	if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
		repo = repo[:i] // the tag, not a registry's port
	}
	mm := imageReleaseRe.FindStringSubmatch(repo)
	if mm == nil {
		return 0, 0, false
	}
	year, _ = strconv.Atoi(mm[1])
	month, _ = strconv.Atoi(mm[2])
	return year, month, true
}

// metaReported reports whether the object of kind named name in namespace
// ns may be one whose name or namespace is reported (the namespace "" is
// one that is unknown): a reference to it is not also "not found".
func (v *validator) metaReported(kind, ns, name string) bool {
	return ns == "" || v.badMeta[[3]string{kind, ns, name}] || v.badMeta[[3]string{kind, "", name}]
}

// inNamespace names namespace ns in a message, or the object's own when it
// is unknown (and reported).
// findConnection returns the connection of kind named name in namespace
// ns, which FleioDeployment fd names at field, and reports whether it was
// found. A missing one is reported, unless it is defined with its name or
// namespace reported already, or fd's namespace is.
func findConnection[T any](v *validator, fd *FleioDeployment, field, kind, name, ns string, conns map[[2]string]*T) (*T, bool) {
	switch c := conns[[2]string{ns, name}]; {
	case name == "":
		v.at(fd, field, "required: the name of a %s in %s", kind, inNamespace(ns))
	case c != nil:
		return c, true
	case !v.metaReported(kind, ns, name):
		v.across(fd, field, "%s %q not found in namespace %q%s", kind, name, ns, foundIn(conns, ns))
	}
	return nil, false
}

func inNamespace(ns string) string {
	if ns == "" {
		return "its namespace"
	}
	return fmt.Sprintf("namespace %q", ns)
}

func foundIn[T any](m map[[2]string]T, ns string) string {
	var names []string
	for k := range m {
		if k[0] == ns {
			names = append(names, k[1])
		}
	}
	if len(names) == 0 {
		return " (none defined there)"
	}
	sort.Strings(names)
	return " (found: " + strings.Join(names, ", ") + ")"
}

// placement checks that each cluster's tenants have deployments, that each
// deployment runs somewhere, and that ClusterIssuer names do not collide;
// and the hosts clusters serve. Every check is across objects.
func (v *validator) placement(f *Fleet, m *Model, tenants map[string]*Tenant, hasDeployment map[string]bool) {
	runs := map[string]bool{}
	hosts := &hostChecker{v: v, f: f, public: map[string]served{}, once: map[string]bool{}}
	for i, c := range m.Clusters {
		_ = i
		issuers := map[string]*Deployment{}
		hosts.cluster = map[string]served{}
		for _, t := range c.Tenants {
			runs[t] = true
			tn := tenants[t]
			if tn == nil && (hasDeployment[t] || hasDeployment[""]) {
				continue // its deployments are invalid and reported already, or one without a namespace may be its
			}
			if tn == nil {
				idx := clusterIndex(f, c.Name)
				with := "no namespace has one in the specs"
				if len(hasDeployment) > 0 { // valid or not: an invalid one is reported on its own
					with = "namespaces with one: " + strings.Join(sortedKeys(hasDeployment), ", ")
				}
				v.across(f, fmt.Sprintf("spec.clusters[%d].tenants[%d]", idx, indexOf(f.Spec.Clusters[idx].Tenants, t)),
					"namespace %q has no FleioDeployment (%s); when you delete a namespace's last FleioDeployment, also remove the namespace from spec.clusters[%d].tenants in the Fleet (cluster %q)",
					t, with, idx, c.Name)
				continue
			}
			for _, d := range tn.Deployments {
				if other := issuers[d.Name]; other != nil {
					fd := v.findDeployment(d)
					v.across(fd, "metadata.name", "cluster %q also runs FleioDeployment %q in namespace %q: names must be unique per cluster because the ClusterIssuer fleio-%s-acme-issuer is cluster-wide", c.Name, d.Name, other.Namespace, d.Name)
					continue
				}
				issuers[d.Name] = d
				c.Deployments = append(c.Deployments, d)
				if c.Env != nil {
					d.addEnvironment(c.Env)
				}
				if c.Env != nil && !v.badDomain[c.Name] && !(v.badSpecDomain[d] && strings.Contains(c.Env.HostTemplate, "{domain}")) {
					host := c.Env.Host(d, c.Domain)
					if !c.Env.selfSigned(host) && c.Env.ACMEEmail == "" {
						idx := envIndex(f, c.Env.Name)
						v.across(f, fmt.Sprintf("spec.environments[%d].acme.email", idx), "required: cluster %q requests a Let's Encrypt certificate for %s (FleioDeployment %s/%s)", c.Name, host, d.Namespace, d.Name)
					}
					if errs := validation.IsDNS1123Subdomain(host); len(errs) > 0 || len(host) > 253 {
						idx := envIndex(f, c.Env.Name)
						v.across(f, fmt.Sprintf("spec.environments[%d].hostTemplate", idx), "gives %q for FleioDeployment %s/%s on cluster %q, which is not a valid host name", host, d.Namespace, d.Name, c.Name)
					} else if last := host[strings.LastIndexByte(host, '.')+1:]; strings.Trim(last, "0123456789") == "" {
						idx := envIndex(f, c.Env.Name)
						v.across(f, fmt.Sprintf("spec.environments[%d].hostTemplate", idx), "gives %q for FleioDeployment %s/%s on cluster %q, an IP address or a name ending in a numeric label; Ingress hosts and certificates need a DNS name", host, d.Namespace, d.Name, c.Name)
					} else if as := yamlRetypes(host); as != "" && strings.Contains(c.Env.HostTemplate, "{clusterDomain}") {
						// The Ingress and Certificate hold the host with
						// ${CLUSTER_DOMAIN}, which Flux substitutes in the
						// YAML text and reads again, without quotes.
						idx := envIndex(f, c.Env.Name)
						v.across(f, fmt.Sprintf("spec.environments[%d].hostTemplate", idx), "gives %q for FleioDeployment %s/%s on cluster %q, which would become %s where Flux substitutes ${CLUSTER_DOMAIN}: YAML reads it so, and Flux cannot quote it; change the template",
							host, d.Namespace, d.Name, c.Name, as)
					} else if label := longLabel(host); label != "" {
						idx := envIndex(f, c.Env.Name)
						v.across(f, fmt.Sprintf("spec.environments[%d].hostTemplate", idx), "gives %q for FleioDeployment %s/%s on cluster %q: its label %q has %d characters, over the 63 a DNS label may have (DNS and ACME refuse the name); shorten the template, such as with dots between placeholders",
							host, d.Namespace, d.Name, c.Name, label, len(label))
					} else if !c.Env.selfSigned(host) && !strings.Contains(host, ".") {
						obj, field := hostSource(f, c, v.findDeployment(d))
						v.across(obj, field, "gives host %q for FleioDeployment %s/%s on cluster %q: a single DNS label, for which the ACME server (Let's Encrypt) issues no certificate; "+
							"use a name with at least one dot (such as with {clusterDomain} or {domain} in spec.environments[%[5]d].hostTemplate), a reserved name such as localhost or a .local or .internal one, "+
							"or issuer: selfSigned in spec.environments[%[5]d] for a self-signed certificate",
							host, d.Namespace, d.Name, c.Name, envIndex(f, c.Env.Name))
					} else {
						hosts.check(served{host: host, d: d, c: c})
					}
				}
			}
		}
		sort.Slice(c.Deployments, func(i, j int) bool {
			a, b := c.Deployments[i], c.Deployments[j]
			if a.Namespace != b.Namespace {
				return a.Namespace < b.Namespace
			}
			return a.Name < b.Name
		})
	}
	for _, ns := range sortedKeys(tenants) {
		if !runs[ns] {
			for _, d := range tenants[ns].Deployments {
				v.across(v.findDeployment(d), "metadata.namespace", "namespace %q is not run by any cluster: add it to spec.clusters[].tenants in the Fleet", ns)
			}
		}
	}
}

// served is a public host a cluster serves for a deployment.
type served struct {
	host string
	d    *Deployment
	c    *ClusterModel
}

// hostChecker refuses a host served twice: twice on one cluster (two
// Ingresses and Certificates for one name), or by two clusters (each would
// request its own ACME certificate, and only the cluster public DNS points
// at can pass the HTTP-01 challenge). Hosts are compared as rendered, with
// each cluster's domain in place of {clusterDomain}.
type hostChecker struct {
	v       *validator
	f       *Fleet
	cluster map[string]served // the current cluster's hosts
	public  map[string]served // every cluster's hosts but reserved names, first served
	once    map[string]bool   // problems reported, so a template is not reported per deployment
}

func (h *hostChecker) check(s served) {
	if first, dup := h.cluster[s.host]; dup {
		h.sameCluster(s, first)
		return
	}
	h.cluster[s.host] = s
	if isLocalHost(s.host) {
		return // a reserved name: self-signed, and resolved by each cluster's own DNS
	}
	if first, dup := h.public[s.host]; dup {
		h.twoClusters(s, first)
		return
	}
	h.public[s.host] = s
}

// report reports a problem once per key.
func (h *hostChecker) report(key string, obj any, field, format string, args ...any) {
	if h.once[key] {
		return
	}
	h.once[key] = true
	h.v.across(obj, field, format, args...)
}

func (h *hostChecker) sameCluster(s, first served) {
	env := s.c.Env
	if strings.Contains(env.HostTemplate, "{domain}") && s.d.Spec.Domain == first.d.Spec.Domain {
		h.report("domain\x00"+s.c.Name+"\x00"+s.d.Namespace+"/"+s.d.Name, h.v.findDeployment(s.d), "spec.domain",
			"cluster %q already serves %s for FleioDeployment %s/%s, which has the same spec.domain: one Ingress and one Certificate per host; give each deployment its own domain",
			s.c.Name, s.host, first.d.Namespace, first.d.Name)
		return
	}
	field := fmt.Sprintf("spec.environments[%d].hostTemplate", envIndex(h.f, env.Name))
	h.report(field+"\x00"+s.c.Name, h.f, field,
		"gives %q to both FleioDeployment %s/%s and %s/%s on cluster %q: one Ingress and one Certificate per host; make the template tell deployments apart with {name} and {namespace}, or {domain}",
		s.host, first.d.Namespace, first.d.Name, s.d.Namespace, s.d.Name, s.c.Name)
}

// fixTwoClusters is how to serve a deployment on several clusters.
const fixTwoClusters = `a hostTemplate with {clusterDomain} (such as "{name}.{namespace}.{clusterDomain}") and distinct cluster domains, or distinct spec.domain values`

func (h *hostChecker) twoClusters(s, first served) {
	why := fmt.Sprintf("each cluster would request its own ACME certificate for %s, and only the one public DNS points at can get it", s.host)
	if s.c.Env.SelfSigned && first.c.Env.SelfSigned {
		why = fmt.Sprintf("both clusters would serve %s, and public DNS points at one of them", s.host)
	}
	env := s.c.Env
	envField := fmt.Sprintf("spec.environments[%d].hostTemplate", envIndex(h.f, env.Name))
	switch {
	case s.d == first.d && strings.Contains(env.HostTemplate, "{clusterDomain}") && s.c.Domain == first.c.Domain:
		field := fmt.Sprintf("spec.clusters[%d].domain", clusterIndex(h.f, s.c.Name))
		h.report(field+"\x00"+first.c.Name, h.f, field,
			"cluster %q has the same domain %s as cluster %q, so FleioDeployment %s/%s gets host %s on both: %s; use %s",
			s.c.Name, s.c.Domain, first.c.Name, s.d.Namespace, s.d.Name, s.host, why, fixTwoClusters)
	case s.d != first.d && strings.Contains(env.HostTemplate, "{domain}") && strings.Contains(first.c.Env.HostTemplate, "{domain}") && s.d.Spec.Domain == first.d.Spec.Domain:
		h.report("domain\x00"+s.c.Name+"\x00"+s.d.Namespace+"/"+s.d.Name, h.v.findDeployment(s.d), "spec.domain",
			"cluster %q serves %s for this deployment, and cluster %q for FleioDeployment %s/%s, which has the same spec.domain: %s; use %s",
			s.c.Name, s.host, first.c.Name, first.d.Namespace, first.d.Name, why, fixTwoClusters)
	default:
		h.report(envField+"\x00"+s.c.Name+"\x00"+first.c.Name, h.f, envField,
			"gives %q for FleioDeployment %s/%s on cluster %q, and cluster %q serves it for FleioDeployment %s/%s: %s; use %s",
			s.host, s.d.Namespace, s.d.Name, s.c.Name, first.c.Name, first.d.Namespace, first.d.Name, why, fixTwoClusters)
	}
}

func (d *Deployment) addEnvironment(env *EnvModel) {
	for _, e := range d.Environments {
		if e == env {
			return
		}
	}
	d.Environments = append(d.Environments, env)
	sort.Slice(d.Environments, func(i, j int) bool { return d.Environments[i].Name < d.Environments[j].Name })
}

func (v *validator) findDeployment(d *Deployment) *FleioDeployment {
	for _, fd := range v.specs.Deployments {
		if fd.Metadata.Name == d.Name && fd.Metadata.Namespace == d.Namespace {
			return fd
		}
	}
	return nil
}

func clusterIndex(f *Fleet, name string) int {
	for i, c := range f.Spec.Clusters {
		if c.Name == name {
			return i
		}
	}
	return 0
}

func envIndex(f *Fleet, name string) int {
	for i, e := range f.Spec.Environments {
		if e.Name == name {
			return i
		}
	}
	return 0
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return 0
}

// hostSource returns the object and field that make cluster c's host for
// a deployment: spec.domain when the template is "{domain}", the
// cluster's domain when it is "{clusterDomain}", else the template.
func hostSource(f *Fleet, c *ClusterModel, fd *FleioDeployment) (any, string) {
	switch c.Env.HostTemplate {
	case "{domain}":
		return fd, "spec.domain"
	case "{clusterDomain}":
		return f, fmt.Sprintf("spec.clusters[%d].domain", clusterIndex(f, c.Name))
	}
	return f, fmt.Sprintf("spec.environments[%d].hostTemplate", envIndex(f, c.Env.Name))
}

// longLabel returns the first label of host over the 63 characters DNS
// allows, or "". IsDNS1123Subdomain checks only the whole name.
func longLabel(host string) string {
	for _, label := range strings.Split(host, ".") {
		if len(label) > validation.DNS1123LabelMaxLength {
			return label
		}
	}
	return ""
}

// reservedSuffixes are the special-use and private top-level names (RFC
// 2606, 6761, 6762, 8375 and ICANN's .internal) for which no public ACME
// server issues a certificate.
var reservedSuffixes = []string{".local", ".localhost", ".internal", ".test", ".example", ".invalid", ".home.arpa"}

// isLocalHost reports whether host is localhost or a reserved name, which
// always gets a self-signed certificate and which each cluster resolves
// for itself.
func isLocalHost(host string) bool {
	if host == "localhost" {
		return true
	}
	for _, s := range reservedSuffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// hostPortProblem says what is wrong with the host[:port] of a URL or of
// an image reference's registry, or "": the host is a DNS name (RFC 1123,
// in any case) or an IP address (IPv6 in brackets), and the port, when
// there is one, 1 to 65535.
func hostPortProblem(hostport string) string {
	host, port := hostport, ""
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
	} else if len(hostport) > 1 && hostport[0] == '[' && hostport[len(hostport)-1] == ']' {
		host = hostport[1 : len(hostport)-1]
	}
	if port != "" || strings.HasSuffix(hostport, ":") {
		if port == "" {
			return "the port after the : is empty"
		}
		if n, err := strconv.Atoi(port); err != nil || len(validation.IsValidPortNum(n)) > 0 {
			return fmt.Sprintf("port %s is not a valid port (1 to 65535)", port)
		}
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip.To4() == nil && !strings.HasPrefix(hostport, "[") {
			return fmt.Sprintf("the IPv6 address %s must be written in brackets ([%s])", host, host)
		}
		return ""
	}
	// A fully qualified name may end in a dot (acme.example.com.).
	if len(validation.IsDNS1123Subdomain(strings.ToLower(strings.TrimSuffix(host, ".")))) > 0 {
		return fmt.Sprintf("%q is not a valid host name or IP address", host)
	}
	return ""
}

// namedRegistry returns the registry host[:port] an image reference
// names, as Docker reads it: its first component when that holds a "."
// or a ":" or is localhost; else it names none (ok false), and means
// Docker Hub.
func namedRegistry(ref string) (host string, ok bool) {
	first, _, found := strings.Cut(ref, "/")
	if !found || !(strings.ContainsAny(first, ".:") || first == "localhost") {
		return "", false
	}
	return first, true
}

// registryHost returns the registry host an image reference pulls from:
// the one it names, or docker.io.
func registryHost(ref string) string {
	if host, ok := namedRegistry(ref); ok {
		return host
	}
	return "docker.io"
}

// registryProblem says what is wrong with the registry host[:port] an
// image reference names (namedRegistry), or "".
func registryProblem(ref string) string {
	host, ok := namedRegistry(ref)
	if !ok {
		return ""
	}
	return hostPortProblem(host)
}

func (v *validator) host(obj any, field, h string) {
	if h == "" {
		v.at(obj, field, "required")
		return
	}
	if len(validation.IsValidIP(nil, h)) == 0 {
		return
	}
	if errs := validation.IsDNS1123Subdomain(h); len(errs) > 0 {
		v.at(obj, field, "%q is not a valid host name or IP address", h)
	}
}

// validBranch reports whether git check-ref-format accepts
// refs/heads/<name>, within branchRe's characters: no component starts
// with a dot or ends with .lock, no "..", "//" or trailing "/" or ".",
// and not HEAD (which git refuses as a branch name).
func validBranch(name string) bool {
	if name == "" || name == "HEAD" || !branchRe.MatchString(name) || strings.Contains(name, "..") || strings.HasSuffix(name, ".") {
		return false
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return false
		}
	}
	return true
}

// rawValue decodes a setting's JSON value (nil when it does not decode).
func rawValue(raw json.RawMessage) any {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	return v
}

// wholeBytes reports whether a quantity of bytes is a whole number of them
// ("1.5" and "500m" are not; 9Pi is, past where MilliValue overflows).
func wholeBytes(q resource.Quantity) bool {
	return resource.NewQuantity(q.Value(), q.Format).Cmp(q) == 0
}

func (v *validator) domain(obj any, field, d string) bool {
	if d == "" {
		v.at(obj, field, "required")
		return false
	}
	if d == "localhost" {
		return true
	}
	if errs := validation.IsFullyQualifiedDomainName(nil, d); len(errs) > 0 {
		v.at(obj, field, "%q is not a valid domain name (lower-case DNS labels separated by dots, such as fleio.example.com)", d)
		return false
	}
	if strings.HasSuffix(d, ".") {
		v.at(obj, field, "%q ends with a dot; write the domain without it", d)
		return false
	}
	if last := d[strings.LastIndexByte(d, '.')+1:]; strings.Trim(last, "0123456789") == "" {
		v.at(obj, field, "%q is an IP address or ends in a numeric label; Ingress hosts and certificates need a DNS name", d)
		return false
	}
	return true
}

// yamlRetypes names what value, written plain after a key, becomes when
// read with the YAML reader kustomize-controller uses after substituting
// (sigs.k8s.io/yaml): "" when it stays the same string.
func yamlRetypes(value string) string {
	var m map[string]any
	if err := sigsyaml.Unmarshal([]byte("v: "+value+"\n"), &m); err != nil {
		return "invalid YAML"
	}
	switch v := m["v"].(type) {
	case string:
		if v == value {
			return ""
		}
		return "a different string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a number"
}

// retyped refuses a value fleiogen puts in flux-runtime-info that YAML
// would read as a number, boolean or null once Flux substitutes it
// (kustomize-controller substitutes in the YAML text and reads it again;
// quotes do not survive kustomize build), and reports whether it did.
func (v *validator) retyped(obj any, field, value string) bool {
	if value == "" {
		return false
	}
	as := yamlRetypes(value)
	if as == "" {
		return false
	}
	v.at(obj, field, "%q would become %s where Flux substitutes it (${...} from flux-runtime-info): YAML reads it so, and Flux cannot quote it; choose another value", value, as)
	return true
}

func (v *validator) port(obj any, field string, p int32) {
	if errs := validation.IsValidPortNum(int(p)); len(errs) > 0 {
		v.at(obj, field, "%d is not a valid port (1 to 65535)", p)
	}
}

func (v *validator) secretName(obj any, field, name string, required bool) {
	if name == "" {
		if required {
			v.at(obj, field, "required: the name of a Secret")
		}
		return
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		v.at(obj, field, "%q is not a valid Secret name: %s", name, strings.Join(errs, "; "))
	}
}

// checkCron accepts the schedules a Kubernetes CronJob accepts: five fields
// or a descriptor such as @daily, without a time zone prefix or @every.
func checkCron(s string) error {
	if strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		return fmt.Errorf("%q: a time zone prefix is not allowed in a CronJob schedule", s)
	}
	if strings.HasPrefix(s, "@every") {
		return fmt.Errorf("%q: @every is not supported by Kubernetes CronJobs", s)
	}
	if _, err := cronParser.Parse(s); err != nil {
		return fmt.Errorf("%q is not a cron schedule (five fields, such as \"2 * * * *\", or @hourly/@daily/@weekly): %v", s, err)
	}
	return nil
}
