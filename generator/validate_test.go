package generator

import (
	"encoding/json"
	"io/fs"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/resource"
)

const validFleet = `apiVersion: fleiogen.io/v1alpha1
kind: Fleet
metadata:
  name: f
spec:
  repository:
    url: https://git.example.com/fleet.git
  clusters:
    - name: staging
      environment: staging
      branch: main
      domain: staging.example.com
      tenants: [billing]
  environments:
    - name: staging
      acme:
        email: ops@example.com
`

const validBilling = `apiVersion: k8s.fleio.com/v1
kind: FleioDbConnection
metadata:
  name: db
  namespace: billing
spec:
  hostname: db.example.com
  port: 3306
  credentialsSecret: db-creds
  databaseName: fleio
---
apiVersion: k8s.fleio.com/v1
kind: FleioRedisConnection
metadata:
  name: cache
  namespace: billing
spec:
  hostname: redis.example.com
  port: 6379
  credentialsSecret: redis-creds
  databaseId: "0"
---
apiVersion: k8s.fleio.com/v1
kind: FleioDeployment
metadata:
  name: cloud
  namespace: billing
spec:
  license:
    uuid: abc-123
  databaseConnection: db
  redisConnection: cache
  adminCredentialsSecret: admin
  domain: cloud.example.com
`

// edit returns validBilling with old replaced by new, failing if old is absent.
func edit(t *testing.T, src, old, new string) string {
	t.Helper()
	if !strings.Contains(src, old) {
		t.Fatalf("test setup: %q not in spec", old)
	}
	return strings.Replace(src, old, new, 1)
}

func loadAndValidate(files map[string]string) error {
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
		if strings.HasPrefix(data, "\x00pipe") {
			fsys[name].Mode = fs.ModeNamedPipe
		}
	}
	specs, err := Load(fsys, "specs")
	if specs == nil {
		return err
	}
	_, err = Validate(specs) // with Load's problems, as the CLI does
	return err
}

func TestValidSpecsPass(t *testing.T) {
	if err := loadAndValidate(map[string]string{"fleet.yaml": validFleet, "billing.yaml": validBilling}); err != nil {
		t.Fatalf("valid specs refused:\n%v", err)
	}
	// A URL's host may be a fully qualified name, ending in a dot.
	if err := loadAndValidate(map[string]string{"fleet.yaml": edit(t, validFleet, "https://git.example.com/fleet.git", "https://git.example.com.:8443/fleet.git"), "billing.yaml": validBilling}); err != nil {
		t.Errorf("a repository URL with a fully qualified host refused:\n%v", err)
	}
	// A database name may hold a hyphen: Django quotes it.
	if err := loadAndValidate(map[string]string{"fleet.yaml": validFleet, "billing.yaml": edit(t, validBilling, "databaseName: fleio", "databaseName: fleio-billing")}); err != nil {
		t.Errorf("databaseName fleio-billing refused:\n%v", err)
	}
	// Empty documents are skipped, as kubectl skips them.
	for _, tail := range []string{"---\n", "---\n# a comment\n", "---\nnull\n", "--- ~\n"} {
		if err := loadAndValidate(map[string]string{"fleet.yaml": validFleet, "billing.yaml": validBilling + tail}); err != nil {
			t.Errorf("valid specs with %q at the end refused:\n%v", tail, err)
		}
	}
}

// TestLoadProblemsAreNotRepeated: a field Load reports is not reported
// again by Validate (a port of the wrong type is not also "required").
func TestLoadProblemsAreNotRepeated(t *testing.T) {
	err := loadAndValidate(map[string]string{"fleet.yaml": validFleet, "billing.yaml": edit(t, validBilling, "port: 6379", "port: six")})
	if err == nil {
		t.Fatal("accepted")
	}
	if n := strings.Count(err.Error(), "spec.port"); n != 1 {
		t.Errorf("spec.port reported %d times:\n%v", n, err)
	}
}

func TestBadSpecs(t *testing.T) {
	cases := []struct {
		name    string
		fleet   string
		billing string
		extra   map[string]string
		// want are problem lines (or parts of them) that must all appear.
		want []string
		// absent must not appear anywhere in the problems: a secret value,
		// or a follow-on problem of the one reported.
		absent []string
	}{
		{
			name:    "dangling redis reference with file, line and field",
			billing: edit(t, validBilling, "redisConnection: cache", "redisConnection: cash"),
			want:    []string{`specs/billing.yaml:32: spec.redisConnection: FleioRedisConnection "cash" not found in namespace "billing" (found: cache)`},
		},
		{
			name:    "dangling database reference",
			billing: edit(t, validBilling, "databaseConnection: db", "databaseConnection: main-db"),
			want:    []string{`specs/billing.yaml:31: spec.databaseConnection: FleioDbConnection "main-db" not found in namespace "billing" (found: db)`},
		},
		{
			name:    "inline license key says how to move it",
			billing: edit(t, validBilling, "    uuid: abc-123\n", "    uuid: abc-123\n    key: SECRET-LICENSE\n"),
			want:    []string{`specs/billing.yaml:31: spec.license.key: an inline license key would be committed to git`, `kubectl create secret generic fleio-cloud-license -n billing --from-literal=key=<license key>`},
		},
		{
			name:    "a database name MariaDB would need quoted beyond a hyphen",
			billing: edit(t, validBilling, "databaseName: fleio", "databaseName: \"fleio.billing\""),
			want:    []string{`specs/billing.yaml:10: spec.databaseName: "fleio.billing" is not a valid MariaDB database name (1 to 64 letters, digits, _ or -)`},
		},
		{
			name:    "a float where an integer goes is shown as written",
			billing: edit(t, validBilling, "port: 3306", "port: 3306.0"),
			want:    []string{`specs/billing.yaml:8: spec.port: expected an integer, got the number 3306.0`},
		},
		{
			name:   "an environment named base would be the app stage's shared directory",
			fleet:  strings.ReplaceAll(validFleet, "staging", "base"),
			want:   []string{`specs/fleet.yaml:15: spec.environments[0].name: "base" is reserved`},
			absent: []string{"not defined"},
		},
		{
			name:   "a cluster naming an environment refused for its name is not reported again",
			fleet:  strings.ReplaceAll(validFleet, "staging", "Staging"),
			want:   []string{`spec.environments[0].name: "Staging" is not a valid environment name`},
			absent: []string{"not defined"},
		},
		{
			name: "a host that YAML reads as a number once Flux substitutes the cluster's domain",
			fleet: edit(t, edit(t, validFleet, "domain: staging.example.com", "domain: 1.5e"),
				"      acme:\n", "      hostTemplate: \"{clusterDomain}{name}\"\n      acme:\n"),
			billing: edit(t, validBilling, "name: cloud\n", "name: \"3\"\n"),
			want:    []string{`specs/fleet.yaml:16: spec.environments[0].hostTemplate: gives "1.5e3" for FleioDeployment billing/3 on cluster "staging", which would become a number where Flux substitutes ${CLUSTER_DOMAIN}`},
		},
		{
			name:  "an environment refused by its name still has its own fields checked",
			fleet: edit(t, strings.ReplaceAll(validFleet, "staging", "Staging"), "      acme:\n", "      replicas: {backend: -1}\n      acme:\n"),
			want: []string{
				`specs/fleet.yaml:15: spec.environments[0].name: "Staging" is not a valid environment name`,
				`specs/fleet.yaml:16: spec.environments[0].replicas.backend: -1 is out of range (0 to 100)`,
			},
			absent: []string{"not defined"},
		},
		{
			name:  "a duplicate environment still has its own fields checked",
			fleet: validFleet + "    - name: staging\n      storage: {accessMode: ReadWriteSometimes}\n",
			want: []string{
				`specs/fleet.yaml:18: spec.environments[1].name: duplicate environment "staging"`,
				`specs/fleet.yaml:19: spec.environments[1].storage.accessMode: "ReadWriteSometimes" is not one of: ReadWriteOnce, ReadWriteMany`,
			},
		},
		{
			name:    "a field spelled in another case is unknown, and not read as the field",
			billing: edit(t, edit(t, validBilling, "    uuid: abc-123\n", "    uuid: abc-123\n    Key: ABCD\n"), "  domain: cloud.example.com\n", "  domain: cloud.example.com\n  Domain: -bad-\n"),
			want:    []string{`specs/billing.yaml:31: spec.license.Key: unknown field`, `specs/billing.yaml:36: spec.Domain: unknown field`},
			absent:  []string{"spec.license.key:", "inline license key", "-bad-"},
		},
		{
			name:    "a numeric inline license key is refused as any other, and not quoted",
			billing: edit(t, validBilling, "    uuid: abc-123\n", "    uuid: abc-123\n    key: 987654321987\n"),
			want:    []string{`specs/billing.yaml:31: spec.license.key: an inline license key would be committed to git; move it into a Secret`},
			absent:  []string{"987654321987", "expected a string"},
		},
		{
			name:    "an inline license key too large for a number",
			billing: edit(t, validBilling, "    uuid: abc-123\n", "    uuid: abc-123\n    key: 98765432198765432198765\n"),
			want:    []string{`specs/billing.yaml:31: spec.license.key: an inline license key would be committed to git`},
			absent:  []string{"98765432198765432198765", "not a valid integer"},
		},
		{
			name:    "an inline license key that is a list, or empty",
			billing: edit(t, validBilling, "    uuid: abc-123\n", "    uuid: abc-123\n    key: [zq1, zq2]\n") + edit(t, secondDeployment("panel", "panel.example.com"), "    uuid: abc-123\n", "    uuid: abc-123\n    key:\n"),
			want: []string{
				`specs/billing.yaml:31: spec.license.key: an inline license key would be committed to git`,
				`specs/billing.yaml:45: spec.license.key: an inline license key would be committed to git`,
			},
			absent: []string{"zq", "expected a string"},
		},
		{
			name:    "unknown field lists the allowed ones",
			billing: edit(t, validBilling, "  domain: cloud.example.com\n", "  domain: cloud.example.com\n  replicas: 3\n"),
			want:    []string{`specs/billing.yaml:35: spec.replicas: unknown field (allowed: adminCredentialsSecret, advanced,`},
		},
		{
			name:    "every problem in one run",
			billing: edit(t, edit(t, edit(t, validBilling, "port: 3306", "port: 70000"), "hostname: redis.example.com", "hostname: redis_example"), "name: cloud", "name: Cloud"),
			want: []string{
				`specs/billing.yaml:8: spec.port: 70000 is not a valid port (1 to 65535)`,
				`specs/billing.yaml:18: spec.hostname: "redis_example" is not a valid host name or IP address`,
				`specs/billing.yaml:26: metadata.name: "Cloud" is not a valid name`,
			},
		},
		{
			name:    "bad domain",
			billing: edit(t, validBilling, "domain: cloud.example.com", "domain: cloud..example"),
			want:    []string{`specs/billing.yaml:34: spec.domain: "cloud..example" is not a valid domain name`},
		},
		{
			name:    "bad cron",
			billing: edit(t, validBilling, "  domain: cloud.example.com\n", "  domain: cloud.example.com\n  enableBackups: yes\n  backupSchedule: \"61 * * * *\"\n"),
			want:    []string{`specs/billing.yaml:36: spec.backupSchedule: "61 * * * *" is not a cron schedule`},
		},
		{
			name:    "cron time zone prefix",
			billing: edit(t, validBilling, "  domain: cloud.example.com\n", "  domain: cloud.example.com\n  backupSchedule: \"CRON_TZ=UTC 0 2 * * *\"\n"),
			want:    []string{`spec.backupSchedule: "CRON_TZ=UTC 0 2 * * *": a time zone prefix is not allowed`},
		},
		{
			name:    "bad version",
			billing: edit(t, validBilling, "  domain: cloud.example.com\n", "  domain: cloud.example.com\n  version: 2025.13.1\n"),
			want:    []string{`specs/billing.yaml:35: spec.version: "2025.13.1" is not a Fleio release (month 01 to 12`},
		},
		{
			name:    "version not in YYYY.MM.PATCH",
			billing: edit(t, validBilling, "  domain: cloud.example.com\n", "  domain: cloud.example.com\n  version: latest\n"),
			want:    []string{`spec.version: "latest" is not a Fleio release (YYYY.MM.PATCH, such as 2025.06.1)`},
		},
		{
			name:    "bad boolean",
			billing: edit(t, validBilling, "  domain: cloud.example.com\n", "  domain: cloud.example.com\n  enableBackups: maybe\n"),
			want:    []string{`specs/billing.yaml:35: spec.enableBackups: "maybe" is not a boolean`},
		},
		{
			name:    "wrong type",
			billing: edit(t, validBilling, "port: 6379", "port: six"),
			want:    []string{`specs/billing.yaml:19: spec.port: expected an integer, got the string "six"`},
		},
		{
			name:    "load and validation problems in one run",
			fleet:   edit(t, validFleet, "  name: f\n", "  name: f\n  bogus: 1\n"),
			billing: edit(t, edit(t, validBilling, "port: 6379", "port: 0"), "redisConnection: cache", "redisConnection: nope"),
			want: []string{
				`specs/fleet.yaml:5: metadata.bogus: unknown field`,
				`specs/billing.yaml:19: spec.port:`,
				`specs/billing.yaml:`,
				`spec.redisConnection: FleioRedisConnection "nope" not found in namespace "billing"`,
			},
		},
		{
			name:    "every type error, with list indexes and lines",
			fleet:   edit(t, edit(t, validFleet, "tenants: [billing]", "tenants: [billing, 7]"), "branch: main", "branch: [main]"),
			billing: edit(t, edit(t, edit(t, validBilling, "hostname: db.example.com", "hostname: 5"), "port: 3306", `port: "3306"`), "credentialsSecret: db-creds", "credentialsSecret: [x]"),
			want: []string{
				`specs/fleet.yaml:11: spec.clusters[0].branch: expected a string, got a list`,
				`specs/fleet.yaml:13: spec.clusters[0].tenants[1]: expected a string, got the number 7`,
				`specs/billing.yaml:7: spec.hostname: expected a string, got the number 5`,
				`specs/billing.yaml:8: spec.port: expected an integer, got the string "3306"`,
				`specs/billing.yaml:9: spec.credentialsSecret: expected a string, got a list`,
			},
		},
		{
			name:    "an alias that contains itself",
			billing: edit(t, validBilling, "spec:\n  hostname: db.example.com", "spec: &s\n  loop: *s\n  hostname: db.example.com"),
			want:    []string{"specs/billing.yaml:7: spec.loop.loop.loop.loop", "the document expands to more than 100000 YAML nodes or 100 levels"},
		},
		{
			name:    "a named pipe",
			billing: validBilling,
			extra:   map[string]string{"pipe.yaml": "\x00pipe"},
			want:    []string{`specs/pipe.yaml: not a regular file (p---------); spec files must be plain files`},
		},
		{
			name:    "a huge file",
			billing: validBilling,
			extra:   map[string]string{"huge.yaml": "# " + strings.Repeat("x", MaxSpecFileSize)},
			want:    []string{`specs/huge.yaml: 16777218 bytes, over the 16 MiB a spec file may have`},
		},
		{
			name:  "runtime values YAML would retype after substitution",
			fleet: edit(t, edit(t, edit(t, validFleet, "    - name: staging\n      environment", "    - name: \"123\"\n      environment"), "branch: main", `branch: "1.0"`), "domain: staging.example.com", "domain: 1.2.3.4"),
			want: []string{
				`specs/fleet.yaml:9: spec.clusters[0].name: "123" would become a number where Flux substitutes it`,
				`specs/fleet.yaml:11: spec.clusters[0].branch: "1.0" would become a number where`,
				`specs/fleet.yaml:12: spec.clusters[0].domain: "1.2.3.4" is an IP address or ends in a numeric label`,
			},
		},
		{
			name:    "invalid UTF-8",
			billing: edit(t, validBilling, "databaseName: fleio", "databaseName: caf\xe9"),
			want:    []string{`specs/billing.yaml:10: invalid YAML: not UTF-8 (byte 0xe9 in column 20)`},
		},
		{
			// cat a.yaml b.yaml, b.yaml written with a BOM; the BOM at the
			// start of the file is read as one.
			name:    "a byte-order mark at the start of a later document",
			billing: "\ufeff" + strings.Replace(validBilling, "\n---\n", "\n---\n\ufeff", 1),
			want:    []string{`specs/billing.yaml:12: a byte-order mark (U+FEFF) at the start of the line, as joining files with a BOM leaves`},
			absent:  []string{"apiVersion", "billing.yaml:1:"},
		},
		{
			name:  "a cluster domain with a trailing dot, reported once",
			fleet: edit(t, validFleet, "domain: staging.example.com", "domain: staging.example.com."),
			want:  []string{`specs/fleet.yaml:12: spec.clusters[0].domain: "staging.example.com." ends with a dot`},
		},
		{
			name:    "a domain with a trailing dot",
			billing: edit(t, validBilling, "domain: cloud.example.com", "domain: cloud.example.com."),
			want:    []string{`spec.domain: "cloud.example.com." ends with a dot`},
		},
		{
			name:  "an environment named yes",
			fleet: strings.ReplaceAll(validFleet, "staging\n", "\"yes\"\n"),
			want:  []string{`spec.environments[0].name: "yes" would become a boolean where Flux substitutes it`},
		},
		{
			name:    "a namespace too long for tenant-<namespace>",
			fleet:   edit(t, validFleet, "tenants: [billing]", "tenants: [nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn]"),
			billing: strings.ReplaceAll(validBilling, "namespace: billing", "namespace: nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"),
			want: []string{
				`specs/fleet.yaml:13: spec.clusters[0].tenants[0]: "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn" is too long: at most 56 characters`,
				`specs/billing.yaml:5: metadata.namespace: "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn" is too long`,
			},
			// the connections are defined there; their namespace is the problem
			absent: []string{"not found"},
		},
		{
			name:   "a tenant listed twice",
			fleet:  edit(t, validFleet, "tenants: [billing]", "tenants: [billing, billing]"),
			want:   []string{`specs/fleet.yaml:13: spec.clusters[0].tenants[1]: duplicate tenant "billing"`},
			absent: []string{"also runs", "to both"},
		},
		{
			name:   "a null tenant",
			fleet:  edit(t, validFleet, "tenants: [billing]", "tenants: [billing, null]"),
			want:   []string{`specs/fleet.yaml:13: spec.clusters[0].tenants[1]: empty (null): write the namespace of the FleioDeployments the cluster runs, or remove the entry`},
			absent: []string{"has no FleioDeployment", "not a valid namespace"},
		},
		{
			name:  "credentials in the repository URL",
			fleet: edit(t, validFleet, "https://git.example.com/fleet.git", "https://ghp_SECRET@git.example.com/fleet.git"),
			want:  []string{`specs/fleet.yaml:7: spec.repository.url: credentials in the URL would be written to git`},
		},
		{
			name:  "an upper-case scheme in the repository URL",
			fleet: edit(t, validFleet, "https://git.example.com/fleet.git", "HTTPS://git.example.com/fleet.git"),
			want:  []string{`specs/fleet.yaml:7: spec.repository.url: "HTTPS://git.example.com/fleet.git": write the scheme in lower case (https://): the GitRepository's URL pattern is case-sensitive`},
		},
		{
			name:   "an upper-case scheme and credentials: the message does not quote them",
			fleet:  edit(t, validFleet, "https://git.example.com/fleet.git", "Https://bot:zqtoken@git.example.com/fleet.git"),
			want:   []string{`spec.repository.url: "Https://<credentials>@git.example.com/fleet.git": write the scheme in lower case`},
			absent: []string{"zq"},
		},
		{
			name:  "port 0 in the repository URL",
			fleet: edit(t, validFleet, "https://git.example.com/fleet.git", "https://git.example.com:0/fleet.git"),
			want:  []string{`specs/fleet.yaml:7: spec.repository.url: "https://git.example.com:0/fleet.git": port 0 is not a valid port (1 to 65535)`},
		},
		{
			name:  "a host name with an empty label in the repository URL",
			fleet: edit(t, validFleet, "https://git.example.com/fleet.git", "https://git..example.com/fleet.git"),
			want:  []string{`specs/fleet.yaml:7: spec.repository.url: "https://git..example.com/fleet.git": "git..example.com" is not a valid host name or IP address`},
		},
		{
			name: "ports and hosts of the ACME server, the registry and image overrides",
			fleet: edit(t, edit(t, validFleet, "        email: ops@example.com\n", "        email: ops@example.com\n        server: https://acme.example.com:99999/dir\n"),
				"  clusters:\n", "  images:\n    registry: hub.fleio.com:0\n  clusters:\n"),
			billing: validBilling + "  advanced:\n    deploymentsOverrides:\n      backend:\n        imagePath: registry_x.example.net:5000/mirror/fleio_backend-2025-06:1\n      web:\n        imagePath: \"registry.example.net:/mirror/fleio_web-2025-06:1\"\n",
			want: []string{
				`specs/fleet.yaml:9: spec.images.registry: "hub.fleio.com:0": port 0 is not a valid port (1 to 65535)`,
				`spec.environments[0].acme.server: "https://acme.example.com:99999/dir": port 99999 is not a valid port (1 to 65535)`,
				`spec.advanced.deploymentsOverrides.backend.imagePath: "registry_x.example.net:5000/mirror/fleio_backend-2025-06:1": "registry_x.example.net" is not a valid host name or IP address`,
				`spec.advanced.deploymentsOverrides.web.imagePath: "registry.example.net:/mirror/fleio_web-2025-06:1"`,
			},
		},
		{
			name:  "the port of the tools image's registry",
			fleet: edit(t, validFleet, "  clusters:\n", "  tools:\n    image: docker.io:99999/alpine/k8s:1.35.4\n  clusters:\n"),
			want:  []string{`specs/fleet.yaml:9: spec.tools.image: "docker.io:99999/alpine/k8s:1.35.4": port 99999 is not a valid port (1 to 65535)`},
		},
		{
			name:  "an ACME server whose host is not a host name, or with a space",
			fleet: edit(t, validFleet, "        email: ops@example.com\n", "        email: ops@example.com\n        server: \"https://-bad-/d ir\"\n"),
			want:  []string{`spec.environments[0].acme.server: "https://-bad-/d ir" is not an https URL of an ACME directory`},
		},
		{
			name:  "a port over 65535 in the repository URL",
			fleet: edit(t, validFleet, "https://git.example.com/fleet.git", "ssh://git@git.example.com:99999/fleet.git"),
			want:  []string{`spec.repository.url: "ssh://git@git.example.com:99999/fleet.git": port 99999 is not a valid port (1 to 65535)`},
		},
		{
			name:  "a space in the repository URL",
			fleet: edit(t, validFleet, "url: https://git.example.com/fleet.git", `url: "https://git.example.com/my fleet.git"`),
			want:  []string{`spec.repository.url: "https://git.example.com/my fleet.git" holds a space or control character, which a Git URL cannot hold (percent-encode it, such as %20 for a space)`},
		},
		{
			name:  "a variable in the repository URL",
			fleet: edit(t, validFleet, "https://git.example.com/fleet.git", "https://git.example.com/${X}/fleet.git"),
			want:  []string{`spec.repository.url: "https://git.example.com/${X}/fleet.git" holds a $`},
		},
		{
			name:    "settings fleiogen sets, secrets, and too much",
			billing: strings.Replace(validBilling, "  databaseConnection: db\n", "  databaseConnection: db\n  settings:\n    SECRET_KEY: '\"x\"'\n    EMAIL_HOST_PASSWORD: '\"hunter2\"'\n    BIG: '\""+strings.Repeat("x", 1<<20)+"\"'\n", 1),
			want: []string{
				`spec.settings.SECRET_KEY: set by fleiogen`,
				`spec.settings.EMAIL_HOST_PASSWORD: looks like a secret`,
				`spec.settings: 1048640 bytes: the backend-settings ConfigMap would pass the 1 MiB Kubernetes allows`,
			},
		},
		{
			name: "secrets by name and by value, never echoed",
			billing: validBilling + `  settings:
    FLEIO_LICENSE_KEY: zq1
    LICENSE_KEY: zq2
    SITE_EMAIL_HOST_PASSWORD: zq3
    EMAIL_PASS: zq4
    CACHES: {default: {LOCATION: "redis://:zq5@redis:6379/1", OPTIONS: {SITE_PASSWORD: zq6}}}
    SENTRY_DSN: "https://pub:zq7@sentry.example.com/1"
    SIGNING_PEM: "-----BEGIN RSA PRIVATE KEY-----\nzq8\n-----END RSA PRIVATE KEY-----\n"
    PAYMENT: {stripe: [sk_live_zq9, rk_live_zq10]}
    NOTIFY: "Bearer ghp_zq11 github_pat_zq12"
    SLACK: [xoxb-zq13, xoxp-zq14]
    MORE: [sk_test_zq17, ghs_zq18, glpat-zq19, "id=AKIAZQ20ZQ20ZQ20ZQ20;"]
  frontendSettings:
    enduser: {sentryDsn: "https://pub:zq15@sentry.example.com/1", chat: xoxb-zq16}
`,
			want: []string{
				`specs/billing.yaml:36: spec.settings.FLEIO_LICENSE_KEY: looks like a secret: settings are written to git, in the backend-settings ConfigMap; a secret belongs in a Secret`,
				`specs/billing.yaml:37: spec.settings.LICENSE_KEY: looks like a secret`,
				`specs/billing.yaml:38: spec.settings.SITE_EMAIL_HOST_PASSWORD: looks like a secret`,
				`specs/billing.yaml:39: spec.settings.EMAIL_PASS: looks like a secret`,
				`specs/billing.yaml:40: spec.settings.CACHES.default.LOCATION: holds a URL with a password: settings are written to git, in the backend-settings ConfigMap; a secret belongs in a Secret`,
				`specs/billing.yaml:40: spec.settings.CACHES.default.OPTIONS.SITE_PASSWORD: looks like a secret`,
				`specs/billing.yaml:41: spec.settings.SENTRY_DSN: holds a URL with a password`,
				`specs/billing.yaml:42: spec.settings.SIGNING_PEM: holds a PEM private key`,
				`specs/billing.yaml:43: spec.settings.PAYMENT.stripe[0]: holds a Stripe secret key (sk_live_...`,
				`specs/billing.yaml:43: spec.settings.PAYMENT.stripe[1]: holds a Stripe restricted key (rk_live_...`,
				`specs/billing.yaml:44: spec.settings.NOTIFY: holds a GitHub token (ghp_...`,
				`specs/billing.yaml:45: spec.settings.SLACK[0]: holds a Slack token`,
				`specs/billing.yaml:45: spec.settings.SLACK[1]: holds a Slack token`,
				`specs/billing.yaml:46: spec.settings.MORE[0]: holds a Stripe secret key`,
				`specs/billing.yaml:46: spec.settings.MORE[1]: holds a GitHub token`,
				`specs/billing.yaml:46: spec.settings.MORE[2]: holds a GitLab token (glpat-...)`,
				`specs/billing.yaml:46: spec.settings.MORE[3]: holds an AWS access key ID`,
				`specs/billing.yaml:48: spec.frontendSettings.enduser.chat: holds a Slack token (xoxb-, `,
				`specs/billing.yaml:48: spec.frontendSettings.enduser.sentryDsn: holds a URL with a password: frontend settings are written to git`,
			},
			absent: []string{"zq"},
		},
		{
			// the raw JSON is 600002 bytes; as a Python literal every ' is \'
			name:    "settings whose Python literal passes 1 MiB",
			billing: validBilling + "  settings:\n    QUOTES: \"" + strings.Repeat("'", 600000) + "\"\n",
			want:    []string{`specs/billing.yaml:35: spec.settings: 1200012 bytes: the backend-settings ConfigMap would pass the 1 MiB Kubernetes allows`},
		},
		{
			// 40 KB of JSON, but indented 60 spaces deep in the file
			name:    "frontend settings that pass 1 MiB once indented",
			billing: validBilling + "  frontendSettings:\n    enduser:\n      deep: " + strings.Repeat("[", 30) + strings.Repeat("0, ", 20000) + "0" + strings.Repeat("]", 30) + "\n",
			want:    []string{`specs/billing.yaml:35: spec.frontendSettings: `, ` bytes: the frontend-settings ConfigMap would pass the 1 MiB Kubernetes allows`},
		},
		{
			name:    "frontend settings fleiogen sets",
			billing: validBilling + "  frontendSettings:\n    enduser: {backendApiUrl: \"https://evil/\", theme: dark}\n    staff: {frontend: enduser}\n",
			want: []string{
				`specs/billing.yaml:36: spec.frontendSettings.enduser.backendApiUrl: set by fleiogen (the backend's URL on the deployment's host); it cannot be overridden`,
				`specs/billing.yaml:37: spec.frontendSettings.staff.frontend: set by fleiogen (which frontend the file configures, enduser or staff)`,
			},
		},
		{
			name:    "a version whose patch overflows",
			billing: strings.Replace(validBilling, "  databaseConnection: db\n", "  databaseConnection: db\n  version: 2025.06.99999999999999999999\n", 1),
			want:    []string{`spec.version: "2025.06.99999999999999999999" is not a Fleio release (the patch number is too large)`},
		},
		{
			name:    "duplicate object",
			billing: validBilling,
			extra:   map[string]string{"more.yaml": validBilling[strings.Index(validBilling, "apiVersion: k8s.fleio.com/v1\nkind: FleioDeployment"):]},
			want:    []string{`specs/more.yaml:4: metadata.name: duplicate FleioDeployment "cloud" in namespace "billing" (first defined at specs/billing.yaml:23)`},
		},
		{
			name:    "duplicate YAML key",
			billing: edit(t, validBilling, "  databaseName: fleio\n", "  databaseName: fleio\n  databaseName: other\n"),
			want:    []string{`specs/billing.yaml:11: spec.databaseName: duplicate key`},
		},
		{
			name:    "invalid YAML",
			billing: edit(t, validBilling, "  port: 3306\n", "  port: [3306\n"),
			want:    []string{`specs/billing.yaml:`, `invalid YAML`},
		},
		{
			name:    "missing namespace without defaultNamespace",
			billing: strings.ReplaceAll(validBilling, "  namespace: billing\n", ""),
			want:    []string{`specs/billing.yaml:3: metadata.namespace: required (or set spec.defaultNamespace in the Fleet)`},
		},
		{
			name:    "unknown kind",
			billing: edit(t, validBilling, "kind: FleioRedisConnection", "kind: FleioRedis"),
			want:    []string{`specs/billing.yaml:13: kind: unsupported apiVersion "k8s.fleio.com/v1" and kind "FleioRedis"`},
		},
		{
			name:  "undefined environment, bad branch and URL",
			fleet: edit(t, edit(t, edit(t, validFleet, "environment: staging", "environment: stage"), "branch: main", "branch: ma..in"), "url: https://git.example.com/fleet.git", "url: git@example.com:fleet.git"),
			want: []string{
				`specs/fleet.yaml:7: spec.repository.url: "git@example.com:fleet.git" is not a Git URL Flux accepts`,
				`specs/fleet.yaml:10: spec.clusters[0].environment: environment "stage" is not defined in spec.environments (defined: staging)`,
				`specs/fleet.yaml:11: spec.clusters[0].branch: "ma..in" is not a valid Git branch name`,
			},
		},
		{
			name:  "tenant without deployments",
			fleet: edit(t, validFleet, "tenants: [billing]", "tenants: [billing, hosting]"),
			want: []string{`specs/fleet.yaml:13: spec.clusters[0].tenants[1]: namespace "hosting" has no FleioDeployment (namespaces with one: billing); ` +
				`when you delete a namespace's last FleioDeployment, also remove the namespace from spec.clusters[0].tenants in the Fleet (cluster "staging")`},
		},
		{
			name:  "deployment no cluster runs",
			fleet: edit(t, validFleet, "tenants: [billing]", "tenants: []"),
			want:  []string{`specs/billing.yaml:27: metadata.namespace: namespace "billing" is not run by any cluster`},
		},
		{
			name:  "celerybeat must be one",
			fleet: validFleet + "      replicas:\n        celerybeat: 2\n        webb: 1\n",
			want: []string{
				`spec.environments[0].replicas.celerybeat: celerybeat is Celery's scheduler and must run exactly one replica, got 2`,
				`spec.environments[0].replicas.webb: unknown service (allowed: backend, frontend, web,`,
			},
		},
		{
			name:  "empty and null replica counts",
			fleet: validFleet + "      replicas:\n        backend:\n        web: ~\n        celery: null\n        frontend: 2\n",
			want: []string{
				`specs/fleet.yaml:19: spec.environments[0].replicas.backend: empty (null): write a number of replicas, 0 to 100 (celerybeat: 1), or remove the entry for the default, 1`,
				`specs/fleet.yaml:20: spec.environments[0].replicas.web: empty (null)`,
				`specs/fleet.yaml:21: spec.environments[0].replicas.celery: empty (null)`,
			},
			absent: []string{"replicas.frontend"},
		},
		{
			name:    "two deployments on the same connections",
			billing: validBilling + sharingDeployment("panel", "panel.example.com"),
			want: []string{
				`specs/billing.yaml:44: spec.databaseConnection: database db.example.com:3306/fleio (FleioDbConnection "db") is also used by FleioDeployment billing/cloud (specs/billing.yaml:23): ` +
					`both would migrate and write the same schema, each with its own secret key; give each deployment a database of its own (spec.databaseName of its FleioDbConnection)`,
				`specs/billing.yaml:45: spec.redisConnection: Redis database redis.example.com:6379/0 (FleioRedisConnection "cache") is also used by FleioDeployment billing/cloud (specs/billing.yaml:23): ` +
					`both would use the same Celery queues and results, each running the other's tasks with its own secret key; give each deployment a Redis database of its own (spec.databaseId of its FleioRedisConnection)`,
			},
			absent: []string{"billing.yaml:31", "billing.yaml:32"},
		},
		{
			name:  "two connections to the same databases, in two namespaces",
			fleet: edit(t, validFleet, "tenants: [billing]", "tenants: [billing, hosting]"),
			extra: map[string]string{"hosting.yaml": edit(t, edit(t, edit(t, edit(t, strings.ReplaceAll(validBilling, "namespace: billing", "namespace: hosting"),
				"hostname: db.example.com", "hostname: DB.Example.COM"), `databaseId: "0"`, `databaseId: "00"`), "name: cloud", "name: panel"), "domain: cloud.example.com", "domain: panel.example.com")},
			want: []string{
				`specs/hosting.yaml:31: spec.databaseConnection: database db.example.com:3306/fleio (FleioDbConnection "db") is also used by FleioDeployment billing/cloud through FleioDbConnection "db" (specs/billing.yaml:23): both would migrate`,
				`specs/hosting.yaml:32: spec.redisConnection: Redis database redis.example.com:6379/0 (FleioRedisConnection "cache") is also used by FleioDeployment billing/cloud through FleioRedisConnection "cache" (specs/billing.yaml:23): both would use`,
			},
			absent: []string{"billing.yaml:31", "billing.yaml:32"},
		},
		{
			name:  "ACME email required for public hosts",
			fleet: strings.Replace(validFleet, "      acme:\n        email: ops@example.com\n", "", 1),
			want:  []string{`spec.environments[0].acme.email: required: cluster "staging" requests a Let's Encrypt certificate for cloud.example.com`},
		},
		{
			name:  "merged request above a built-in limit",
			fleet: validFleet + "      resources:\n        default:\n          requests: {memory: 256Mi}\n",
			want:  []string{`spec.environments[0].resources: frontend: the memory request 256Mi is above the limit 128Mi once defaults are applied`},
		},
		{
			name:  "resource claims, which are not rendered",
			fleet: validFleet + "      resources:\n        backend:\n          claims: [{name: gpu}]\n        default:\n          claims: []\n",
			want: []string{
				`specs/fleet.yaml:20: spec.environments[0].resources.backend.claims: unsupported field: fleiogen does not render resource claims (allowed: limits, requests)`,
				`specs/fleet.yaml:22: spec.environments[0].resources.default.claims: unsupported field`,
			},
		},
		{
			name:  "ReadWriteOncePod, which one pod only may use",
			fleet: validFleet + "      storage:\n        accessMode: ReadWriteOncePod\n",
			want:  []string{`specs/fleet.yaml:19: spec.environments[0].storage.accessMode: ReadWriteOncePod lets a single pod use a volume, but each of a deployment's volumes is mounted by several pods`},
		},
		{
			name:  "a host template that makes a label over 63 characters",
			fleet: validFleet + "      hostTemplate: \"{name}-{namespace}-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.{clusterDomain}\"\n",
			want: []string{`specs/fleet.yaml:18: spec.environments[0].hostTemplate: gives "cloud-billing-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.staging.example.com" for FleioDeployment billing/cloud on cluster "staging": ` +
				`its label "cloud-billing-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" has 64 characters, over the 63 a DNS label may have`},
		},
		{
			name:    "two deployments of one cluster with the same spec.domain",
			fleet:   edit(t, validFleet, "tenants: [billing]", "tenants: [billing, hosting]"),
			billing: validBilling,
			extra:   map[string]string{"hosting.yaml": edit(t, strings.ReplaceAll(validBilling, "namespace: billing", "namespace: hosting"), "name: cloud", "name: panel")},
			want: []string{`specs/hosting.yaml:34: spec.domain: cluster "staging" already serves cloud.example.com for FleioDeployment billing/cloud, which has the same spec.domain: ` +
				`one Ingress and one Certificate per host; give each deployment its own domain`},
		},
		{
			name:    "two localhost deployments on one cluster",
			billing: edit(t, validBilling, "domain: cloud.example.com", "domain: localhost") + secondDeployment("panel", "localhost"),
			want:    []string{`specs/billing.yaml:47: spec.domain: cluster "staging" already serves localhost for FleioDeployment billing/cloud, which has the same spec.domain`},
		},
		{
			name:    "a problem in a deployment's own fields does not hide its host served twice",
			billing: edit(t, validBilling, "  domain: cloud.example.com\n", "  domain: cloud.example.com\n  backupSchedule: \"61 * * * *\"\n") + secondDeployment("panel", "cloud.example.com"),
			want: []string{
				`specs/billing.yaml:35: spec.backupSchedule: "61 * * * *" is not a cron schedule`,
				`specs/billing.yaml:48: spec.domain: cluster "staging" already serves cloud.example.com for FleioDeployment billing/cloud, which has the same spec.domain`,
			},
		},
		{
			name:    "a problem in a deployment's own fields does not hide a name run twice on a cluster",
			fleet:   edit(t, validFleet, "tenants: [billing]", "tenants: [billing, hosting]"),
			billing: validBilling,
			extra: map[string]string{"hosting.yaml": edit(t, edit(t, strings.ReplaceAll(validBilling, "namespace: billing", "namespace: hosting"),
				"domain: cloud.example.com", "domain: panel.example.com"), "  license:\n", "  version: 2025.13.1\n  license:\n")},
			want: []string{
				`specs/hosting.yaml:26: metadata.name: cluster "staging" also runs FleioDeployment "cloud" in namespace "billing"`,
				`specs/hosting.yaml:29: spec.version: "2025.13.1" is not a Fleio release`,
			},
		},
		{
			name:    "a problem in a deployment's own fields does not hide that no cluster runs it",
			fleet:   edit(t, validFleet, "tenants: [billing]", "tenants: []"),
			billing: edit(t, validBilling, "domain: cloud.example.com", "domain: cloud..example.com"),
			want: []string{
				`specs/billing.yaml:27: metadata.namespace: namespace "billing" is not run by any cluster`,
				`specs/billing.yaml:34: spec.domain: "cloud..example.com" is not a valid domain name`,
			},
			absent: []string{"hostTemplate"},
		},
		{
			name:    "a host template without {name}",
			fleet:   validFleet + "      hostTemplate: \"{namespace}.{clusterDomain}\"\n",
			billing: validBilling + secondDeployment("panel", "panel.example.com") + secondDeployment("shop", "shop.example.com"),
			want: []string{`specs/fleet.yaml:18: spec.environments[0].hostTemplate: gives "billing.staging.example.com" to both FleioDeployment billing/cloud and billing/panel on cluster "staging": ` +
				`one Ingress and one Certificate per host; make the template tell deployments apart with {name} and {namespace}, or {domain}`},
		},
		{
			name:  "two clusters serve a deployment on the same host",
			fleet: edit(t, validFleet, "  environments:\n", "    - name: staging-2\n      environment: staging\n      branch: main\n      domain: staging2.example.com\n      tenants: [billing]\n  environments:\n"),
			want: []string{`specs/fleet.yaml:20: spec.environments[0].hostTemplate: gives "cloud.example.com" for FleioDeployment billing/cloud on cluster "staging-2", and cluster "staging" serves it for FleioDeployment billing/cloud: ` +
				`each cluster would request its own ACME certificate for cloud.example.com, and only the one public DNS points at can get it; ` +
				`use a hostTemplate with {clusterDomain} (such as "{name}.{namespace}.{clusterDomain}") and distinct cluster domains, or distinct spec.domain values`},
		},
		{
			name: "two clusters of one domain",
			fleet: edit(t, validFleet, "  environments:\n", "    - name: staging-2\n      environment: staging\n      branch: main\n      domain: staging.example.com\n      tenants: [billing]\n  environments:\n") +
				"      hostTemplate: \"{name}.{namespace}.{clusterDomain}\"\n",
			want: []string{`specs/fleet.yaml:17: spec.clusters[1].domain: cluster "staging-2" has the same domain staging.example.com as cluster "staging", so FleioDeployment billing/cloud gets host cloud.billing.staging.example.com on both: ` +
				`each cluster would request its own ACME certificate`},
		},
		{
			name:    "deployments on two clusters with the same spec.domain",
			fleet:   edit(t, validFleet, "  environments:\n", "    - name: staging-2\n      environment: staging\n      branch: main\n      domain: staging2.example.com\n      tenants: [hosting]\n  environments:\n"),
			billing: validBilling,
			extra:   map[string]string{"hosting.yaml": edit(t, strings.ReplaceAll(validBilling, "namespace: billing", "namespace: hosting"), "name: cloud", "name: panel")},
			want: []string{`specs/hosting.yaml:34: spec.domain: cluster "staging-2" serves cloud.example.com for this deployment, and cluster "staging" for FleioDeployment billing/cloud, which has the same spec.domain: ` +
				`each cluster would request its own ACME certificate for cloud.example.com`},
		},
		{
			name: "hosts compared with the cluster domain substituted",
			fleet: edit(t, edit(t, validFleet, "  environments:\n", "    - name: prod\n      environment: production\n      branch: prod\n      domain: prod.example.com\n      tenants: [hosting]\n  environments:\n"),
				"      acme:\n", "      hostTemplate: \"{name}.{namespace}.{clusterDomain}\"\n      acme:\n") +
				"    - name: production\n      acme: {email: ops@example.com}\n",
			billing: validBilling,
			extra:   map[string]string{"hosting.yaml": edit(t, strings.ReplaceAll(validBilling, "namespace: billing", "namespace: hosting"), "domain: cloud.example.com", "domain: cloud.billing.staging.example.com")},
			want:    []string{`specs/fleet.yaml:21: spec.environments[0].hostTemplate: gives "cloud.billing.staging.example.com" for FleioDeployment billing/cloud on cluster "staging", and cluster "prod" serves it for FleioDeployment hosting/cloud`},
		},
		{
			name:  "a host template that gives a single DNS label, which ACME refuses",
			fleet: validFleet + "      hostTemplate: \"{name}\"\n",
			want: []string{`specs/fleet.yaml:18: spec.environments[0].hostTemplate: gives host "cloud" for FleioDeployment billing/cloud on cluster "staging": a single DNS label, for which the ACME server (Let's Encrypt) issues no certificate; ` +
				`use a name with at least one dot (such as with {clusterDomain} or {domain} in spec.environments[0].hostTemplate), a reserved name such as localhost or a .local or .internal one, ` +
				`or issuer: selfSigned in spec.environments[0] for a self-signed certificate`},
		},
		{
			name: "secrets and unusable values in the Fleet's free text",
			fleet: strings.Replace(validFleet, "      acme:\n        email: ops@example.com\n", "      acme:\n        email: root@localhost\n        server: https://user:pw@acme.example.com/dir\n", 1) +
				"  tools:\n    setLicenseCommand: 'curl https://admin:hunter2@license.example.com/set'\n",
			want: []string{
				`specs/fleet.yaml:17: spec.environments[0].acme.email: "root@localhost" has no domain with a dot: ACME servers (Let's Encrypt) refuse the account`,
				`specs/fleet.yaml:18: spec.environments[0].acme.server: holds credentials (user@ or user:password@): it is written to git, in each ClusterIssuer; an ACME directory URL has none`,
				`specs/fleet.yaml:20: spec.tools.setLicenseCommand: holds a URL with a password: it is written to git, in each license Job; read a secret from the Job's environment or a Secret`,
			},
		},
		{
			name:  "a host template that gives an IP address",
			fleet: validFleet + "      hostTemplate: \"10.0.0.1\"\n",
			want:  []string{`specs/fleet.yaml:18: spec.environments[0].hostTemplate: gives "10.0.0.1" for FleioDeployment billing/cloud on cluster "staging", an IP address or a name ending in a numeric label; Ingress hosts and certificates need a DNS name`},
		},
		{
			name:  "a host template that ends in a numeric label",
			fleet: validFleet + "      hostTemplate: \"{name}.{namespace}.123\"\n",
			want:  []string{`spec.environments[0].hostTemplate: gives "cloud.billing.123" for FleioDeployment billing/cloud on cluster "staging", an IP address`},
		},
		{
			name:  "fractions of a byte",
			fleet: validFleet + "      resources:\n        default:\n          requests: {memory: 100m}\n          limits: {memory: 500m, ephemeral-storage: \"1.5\", cpu: 500m}\n      storage:\n        sizes: {compiled: \"1.5\"}\n",
			want: []string{
				`specs/fleet.yaml:20: spec.environments[0].resources.default.requests.memory: 100m is not a whole number of bytes`,
				`specs/fleet.yaml:21: spec.environments[0].resources.default.limits.ephemeral-storage: 1500m is not a whole number of bytes`,
				`specs/fleet.yaml:21: spec.environments[0].resources.default.limits.memory: 500m is not a whole number of bytes`,
				`specs/fleet.yaml:23: spec.environments[0].storage.sizes.compiled: 1500m is not a whole number of bytes; write it like 5Gi`,
			},
			absent: []string{"limits.cpu"},
		},
		{
			name:    "numbers past int64 and float64",
			billing: strings.Replace(strings.Replace(validBilling, "  databaseConnection: db\n", "  databaseConnection: db\n  settings:\n    A_FLOAT: 1.0e+400\n    A_QUOTED: \"1.0e+400\"\n", 1), "port: 3306", "port: 99999999999999999999", 1),
			want: []string{
				`specs/billing.yaml:8: spec.port: 99999999999999999999 is out of range for int32`,
				`spec.settings.A_FLOAT: 1.0e+400 is out of range for a number (quote it to mean a string)`,
			},
			absent: []string{"A_QUOTED"},
		},
		{
			// kubectl (YAML 1.1) reads them as booleans; written as the
			// strings "no" or "off", Python and JavaScript take them as true.
			name:    "YAML 1.1 booleans in settings",
			billing: validBilling + "  enableBackups: yes\n  backupBeforeUpgrade: no\n  settings:\n    A_NO: no\n    A_LIST: [On, 'off', !!str yes, false]\n    A_QUOTED: \"no\"\n  frontendSettings:\n    staff: {beta: off}\n",
			want: []string{
				`specs/billing.yaml:38: spec.settings.A_NO: no is a boolean to YAML 1.1 readers such as kubectl, but would be written as the string "no", which Python and JavaScript take as true: write true or false, or quote it to mean a string`,
				`specs/billing.yaml:39: spec.settings.A_LIST[0]: On is a boolean`,
				`specs/billing.yaml:42: spec.frontendSettings.staff.beta: off is a boolean`,
			},
			absent: []string{"A_LIST[1]", "A_LIST[2]", "A_QUOTED", "enableBackups", "backupBeforeUpgrade"},
		},
		{
			name:  "a license command of only white space",
			fleet: validFleet + "  tools:\n    setLicenseCommand: \" \\n\\t \"\n",
			want:  []string{`spec.tools.setLicenseCommand: only white space: the license Job would set no license and succeed`},
		},
		{
			name:  "an unprintable character in the license command",
			fleet: validFleet + "  tools:\n    setLicenseCommand: \"set\\x7f-license\\n\\tnext\"\n",
			want:  []string{`specs/fleet.yaml:19: spec.tools.setLicenseCommand: holds the unprintable character U+007F at byte 3: a shell command is printable text, tabs and newlines`},
		},
		{
			name: "credentials in URLs are never echoed",
			fleet: strings.Replace(strings.Replace(validFleet, "      acme:\n        email: ops@example.com\n", "      acme:\n        email: ops@example.com\n        server: http://user:hunter2PW@acme.example.com/dir\n", 1),
				"  clusters:\n", "  images:\n    registry: 'user:hunter3PW@hub.fleio.com'\n  clusters:\n", 1),
			want: []string{
				`spec.environments[0].acme.server: "http://<credentials>@acme.example.com/dir" is not an https URL of an ACME directory`,
				`spec.images.registry: "<credentials>@hub.fleio.com" is not a registry host with an optional path`,
			},
			absent: []string{"hunter2PW", "hunter3PW"},
		},
		{
			name:  "an unknown issuer kind",
			fleet: validFleet + "      issuer: letsencrypt\n",
			want:  []string{`specs/fleet.yaml:18: spec.environments[0].issuer: "letsencrypt" is not an issuer kind (allowed: acme, selfSigned)`},
		},
		{
			name:  "acme settings with a self-signed issuer",
			fleet: validFleet + "      issuer: selfSigned\n",
			want:  []string{`specs/fleet.yaml:16: spec.environments[0].acme: set, but issuer is selfSigned, which uses no ACME server; remove acme or the issuer`},
		},
		{
			name:  "host template placeholder",
			fleet: validFleet + "      hostTemplate: \"{name}.{zone}\"\n",
			want:  []string{`spec.environments[0].hostTemplate: unknown placeholder {zone}`},
		},
		{
			name:    "bad image override and unknown service",
			billing: validBilling + "  advanced:\n    deploymentsOverrides:\n      backend:\n        imagePath: \"Not An Image\"\n      db:\n        imagePath: x/y\n",
			want: []string{
				`specs/billing.yaml:38: spec.advanced.deploymentsOverrides.backend.imagePath: "Not An Image" is not a valid image reference`,
				`specs/billing.yaml:39: spec.advanced.deploymentsOverrides.db: unknown service`,
			},
		},
		{
			name: "image overrides of another release than spec.version",
			billing: validBilling + "  version: 2025.06.1\n  advanced:\n    deploymentsOverrides:\n" +
				"      backend: {imagePath: registry.example.net/mirror/fleio_backend-2025-05}\n" +
				"      updated: {imagePath: \"registry.example.net:5000/mirror/fleio_updated-2024-12:2-hotfix1\"}\n" +
				"      web: {imagePath: registry.example.net/mirror/fleio_web-2025-06}\n" +
				"      celery: {imagePath: \"registry.example.net:5000/fleio_celery:1\"}\n",
			want: []string{
				`specs/billing.yaml:38: spec.advanced.deploymentsOverrides.backend.imagePath: "registry.example.net/mirror/fleio_backend-2025-05" is an image of Fleio 2025.05 (its repository ends in -2025-05), but spec.version is 2025.06.1: ` +
					`backend would run 2025.05 while the rest runs 2025.06, and the database Jobs, which run the backend's image, would migrate with it; update the override to the 2025.06 image (repository ending in -2025-06) or remove it`,
				`specs/billing.yaml:39: spec.advanced.deploymentsOverrides.updated.imagePath: "registry.example.net:5000/mirror/fleio_updated-2024-12:2-hotfix1" is an image of Fleio 2024.12 (its repository ends in -2024-12), but spec.version is 2025.06.1: ` +
					`updated would run 2024.12 while the rest runs 2025.06; update the override`,
			},
			absent: []string{"deploymentsOverrides.web", "deploymentsOverrides.celery"},
		},
		{
			name:    "settings name",
			billing: validBilling + "  settings:\n    debug: true\n",
			want:    []string{`specs/billing.yaml:36: spec.settings.debug: not a Django setting name`},
		},
		{
			name:    "deployment names collide on a cluster",
			fleet:   edit(t, validFleet, "tenants: [billing]", "tenants: [billing, hosting]"),
			billing: validBilling,
			extra:   map[string]string{"hosting.yaml": strings.ReplaceAll(validBilling, "namespace: billing", "namespace: hosting")},
			want:    []string{`metadata.name: cluster "staging" also runs FleioDeployment "cloud" in namespace`},
		},
		{
			name:  "two fleets",
			fleet: validFleet,
			extra: map[string]string{"other.yaml": validFleet},
			want:  []string{`specs/other.yaml:2: kind: a second Fleet (the first is specs/fleet.yaml:1)`},
		},
		{
			name:    "no fleet",
			fleet:   "",
			billing: validBilling,
			want:    []string{`no Fleet found`},
		},
		{
			name:    "reserved namespace and long name",
			billing: edit(t, strings.ReplaceAll(validBilling, "namespace: billing", "namespace: kube-system"), "name: cloud", "name: a-very-long-deployment-name-that-does-not-fit"),
			want: []string{
				`metadata.namespace: "kube-system" is reserved`,
				`metadata.name: "a-very-long-deployment-name-that-does-not-fit" is too long: at most 39 characters`,
			},
		},
		{
			name:    "redis database id",
			billing: edit(t, validBilling, `databaseId: "0"`, `databaseId: "zero"`),
			want:    []string{`specs/billing.yaml:21: spec.databaseId: "zero" is not a Redis database number`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			if tc.fleet != "" || tc.name != "no fleet" {
				files["fleet.yaml"] = validFleet
				if tc.fleet != "" {
					files["fleet.yaml"] = tc.fleet
				}
			}
			files["billing.yaml"] = validBilling
			if tc.billing != "" {
				files["billing.yaml"] = tc.billing
			}
			for k, v := range tc.extra {
				files[k] = v
			}
			err := loadAndValidate(files)
			if err == nil {
				t.Fatalf("specs accepted; want problems:\n%s", strings.Join(tc.want, "\n"))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing problem\n  %s\ngot:\n%v", w, err)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(err.Error(), a) {
					t.Errorf("%q must not be reported:\n%v", a, err)
				}
			}
		})
	}
}

// TestDistinctHostsPass: hosts that differ once each cluster's domain is
// substituted, and a local host on several clusters (self-signed, no ACME),
// are accepted.
func TestDistinctHostsPass(t *testing.T) {
	twoClusters := func(domain2 string) string {
		return edit(t, validFleet, "  environments:\n", "    - name: staging-2\n      environment: staging\n      branch: main\n      domain: "+domain2+"\n      tenants: [billing]\n  environments:\n")
	}
	for name, files := range map[string]map[string]string{
		"two deployments, two domains": {"fleet.yaml": validFleet, "billing.yaml": validBilling + secondDeployment("panel", "panel.example.com")},
		// other databases on the same servers, and the same database name on another port
		"two deployments, two databases": {"fleet.yaml": validFleet, "billing.yaml": validBilling + strings.Replace(
			strings.Replace(secondDeployment("panel", "panel.example.com"), "hostname: redis-panel.example.com", "hostname: redis.example.com", 1),
			`databaseId: "0"`, `databaseId: "1"`, 1) + strings.Replace(strings.Replace(secondDeployment("shop", "shop.example.com"), "databaseName: shop", "databaseName: fleio", 1), "port: 3306", "port: 3307", 1)},
		"two clusters, {clusterDomain}":     {"fleet.yaml": twoClusters("staging2.example.com") + "      hostTemplate: \"{name}.{namespace}.{clusterDomain}\"\n", "billing.yaml": validBilling},
		"a .localhost name from a template": {"fleet.yaml": validFleet + "      hostTemplate: \"{name}.localhost\"\n", "billing.yaml": validBilling},
		"localhost on two clusters":         {"fleet.yaml": twoClusters("staging2.example.com"), "billing.yaml": edit(t, validBilling, "domain: cloud.example.com", "domain: localhost")},
		// no acme.email: a reserved name, or an environment of self-signed issuers
		".internal on two clusters": {"fleet.yaml": strings.Replace(twoClusters("staging2.example.com"), "      acme:\n        email: ops@example.com\n", "", 1),
			"billing.yaml": edit(t, validBilling, "domain: cloud.example.com", "domain: fleio.corp.internal")},
		"issuer: selfSigned, a single label": {"fleet.yaml": strings.Replace(validFleet, "      acme:\n        email: ops@example.com\n", "      issuer: selfSigned\n      hostTemplate: \"{name}\"\n", 1),
			"billing.yaml": validBilling},
	} {
		if err := loadAndValidate(files); err != nil {
			t.Errorf("%s: refused:\n%v", name, err)
		}
	}
}

// secondDeployment is another FleioDeployment of validBilling's namespace,
// followed by its own connections: database <name> on validBilling's
// MariaDB server, Redis database 0 on the server redis-<name>.example.com.
func secondDeployment(name, domain string) string {
	d := sharingDeployment(name, domain)
	d = strings.Replace(d, "databaseConnection: db", "databaseConnection: "+name+"-db", 1)
	d = strings.Replace(d, "redisConnection: cache", "redisConnection: "+name+"-cache", 1)
	conns := validBilling[:strings.Index(validBilling, "---\napiVersion: k8s.fleio.com/v1\nkind: FleioDeployment")]
	conns = strings.Replace(conns, "name: db", "name: "+name+"-db", 1)
	conns = strings.Replace(conns, "databaseName: fleio", "databaseName: "+name, 1)
	conns = strings.Replace(conns, "name: cache", "name: "+name+"-cache", 1)
	conns = strings.Replace(conns, "hostname: redis.example.com", "hostname: redis-"+name+".example.com", 1)
	return d + "---\n" + conns
}

// sharingDeployment is another FleioDeployment of validBilling's namespace,
// on validBilling's connections.
func sharingDeployment(name, domain string) string {
	d := validBilling[strings.Index(validBilling, "---\napiVersion: k8s.fleio.com/v1\nkind: FleioDeployment"):]
	d = strings.Replace(d, "name: cloud", "name: "+name, 1)
	return strings.Replace(d, "domain: cloud.example.com", "domain: "+domain, 1)
}

// TestOperatorYAMLLoadsUnchanged loads the operator guide's examples, with
// its yes/no switches, and checks the values that matter.
func TestOperatorYAMLLoadsUnchanged(t *testing.T) {
	billing := validBilling + "  enableBackups: yes\n  backupRetentionCount: 3\n  advanced:\n    deployUtilsContainer: yes\n"
	fsys := fstest.MapFS{"f.yaml": {Data: []byte(validFleet)}, "b.yaml": {Data: []byte(billing)}}
	specs, err := Load(fsys, "specs")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Validate(specs)
	if err != nil {
		t.Fatal(err)
	}
	d := m.Deployments[0]
	if !d.Backups || d.RetentionCount != 3 || !contains(d.Services, "utils") || !d.BackupFirst {
		t.Errorf("yes/no switches not honoured: backups=%v retention=%d services=%v backupFirst=%v", d.Backups, d.RetentionCount, d.Services, d.BackupFirst)
	}
	if d.Release.String() != DefaultVersion {
		t.Errorf("default version: got %s, want %s", d.Release, DefaultVersion)
	}
}

// TestKubectlGetOutputLoads: a FleioDeployment as kubectl get -o yaml
// prints it (the operator's status, server-set metadata, kubectl apply's
// annotation without the key) loads as the spec alone would; null switches
// and backupRetentionDays 0 mean unset. An annotation that still holds the
// license key is refused, and the key is never quoted.
func TestKubectlGetOutputLoads(t *testing.T) {
	got := strings.Replace(validBilling, "  name: cloud\n  namespace: billing\n", "  name: cloud\n  namespace: billing\n"+
		"  uid: 0b7f2c1e-1111-2222-3333-444455556666\n  resourceVersion: \"12345\"\n  generation: 3\n"+
		"  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: |\n      {\"apiVersion\":\"k8s.fleio.com/v1\",\"kind\":\"FleioDeployment\",\"spec\":{\"license\":{\"uuid\":\"abc-123\"}}}\n", 1) +
		"  enableBackups:\n  backupBeforeUpgrade: ~\n  backupRetentionDays: 0\n  advanced:\n    deployUtilsContainer: null\n" +
		"status:\n  phase: Deployed\n  conditions: [{type: Ready, status: \"True\"}]\n"
	specs, err := Load(fstest.MapFS{"f.yaml": {Data: []byte(validFleet)}, "b.yaml": {Data: []byte(got)}}, "specs")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Validate(specs)
	if err != nil {
		t.Fatal(err)
	}
	d := m.Deployments[0]
	if d.Backups || !d.BackupFirst || d.RetentionDays != 0 || contains(d.Services, "utils") {
		t.Errorf("null switches are not unset: backups=%v backupFirst=%v retentionDays=%d services=%v", d.Backups, d.BackupFirst, d.RetentionDays, d.Services)
	}

	withKey := strings.Replace(got, `{"uuid":"abc-123"}`, `{"key":"REAL-LICENSE-KEY","uuid":"abc-123"}`, 1)
	if withKey == got {
		t.Fatal("test setup: no annotation to edit")
	}
	err = loadAndValidate(map[string]string{"fleet.yaml": validFleet, "billing.yaml": withKey})
	if err == nil {
		t.Fatal("an annotation holding the license key accepted")
	}
	if want := "specs/billing.yaml:32: metadata.annotations.kubectl.kubernetes.io/last-applied-configuration: holds spec.license.key as kubectl apply recorded it"; !strings.Contains(err.Error(), want) {
		t.Errorf("missing %q in:\n%v", want, err)
	}
	if strings.Contains(err.Error(), "REAL-LICENSE-KEY") {
		t.Errorf("the key is quoted:\n%v", err)
	}

	err = loadAndValidate(map[string]string{"fleet.yaml": validFleet, "billing.yaml": strings.ReplaceAll(validBilling, "namespace: billing", "namespace: default")})
	if err == nil || !strings.Contains(err.Error(), `"default" is reserved`) || !strings.Contains(err.Error(), "deployment-keys") {
		t.Errorf("namespace default: %v", err)
	}
}

// TestSpecsLiveInAFleetRepository: specs next to the rendered tree, flux
// bootstrap's files and a CI workflow load; only fleiogen's own documents
// are read, and the others are listed as skipped.
func TestSpecsLiveInAFleetRepository(t *testing.T) {
	fsys := fstest.MapFS{
		"fleet.yaml":   {Data: []byte(validFleet)},
		"billing.yaml": {Data: []byte(validBilling)},
		// Rendered output (generated header): not read at all.
		"clusters/staging/platform.yaml": {Data: []byte(Header + "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: x}\n")},
		"components/fleio/x/job.yaml":    {Data: []byte(Header + "this: [is not even valid\n")},
		// flux bootstrap's files and a plain kustomization.
		"clusters/staging/flux-system/gotk-sync.yaml": {Data: []byte("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: flux-system}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\n")},
		"apps/kustomization.yaml":                     {Data: []byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n")},
		// A CI workflow: YAML with neither apiVersion nor kind.
		"ci/review.yaml": {Data: []byte("name: review\non: [pull_request]\n")},
	}
	specs, err := Load(fsys, "repo")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Validate(specs); err != nil {
		t.Fatalf("specs in a fleet repository refused:\n%v", err)
	}
	want := []string{
		"repo/apps/kustomization.yaml:1: kustomize.config.k8s.io/v1beta1 Kustomization",
		"repo/ci/review.yaml:1: (no apiVersion and kind)",
		"repo/clusters/staging/flux-system/gotk-sync.yaml:1: source.toolkit.fluxcd.io/v1 GitRepository",
		"repo/clusters/staging/flux-system/gotk-sync.yaml:5: v1 ConfigMap",
	}
	if diff := cmp.Diff(want, specs.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}

	// One of fleiogen's kinds under a wrong apiVersion is an error, not skipped.
	bad := fstest.MapFS{"fleet.yaml": {Data: []byte(validFleet)}, "billing.yaml": {Data: []byte(strings.Replace(validBilling, "k8s.fleio.com/v1", "v1", 1))}}
	if _, err := Load(bad, "specs"); err == nil || !strings.Contains(err.Error(), `unsupported apiVersion "v1"`) {
		t.Errorf("a FleioDbConnection with apiVersion v1 must be refused, got %v", err)
	}
}

// TestManagedSettingsMatchTheTemplate: the settings a user may not
// override are exactly those settings.py.tmpl assigns.
func TestManagedSettingsMatchTheTemplate(t *testing.T) {
	assigned := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^[ \t]*([A-Z][A-Z0-9_]*) = `).FindAllStringSubmatch(staticFiles["settings.py.tmpl"], -1) {
		assigned[m[1]] = true
	}
	if diff := cmp.Diff(assigned, managedSettings); diff != "" {
		t.Errorf("managedSettings differ from the template's assignments (-template +managedSettings):\n%s", diff)
	}
}

// TestManagedFrontendKeysMatchTheRender: the frontend keys a user may not
// set are exactly those frontendConfig writes.
func TestManagedFrontendKeysMatchTheRender(t *testing.T) {
	out, err := frontendConfig("https://h", "enduser", nil)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(out), &cfg); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sortedKeys(cfg), sortedKeys(managedFrontendKeys)); diff != "" {
		t.Errorf("managedFrontendKeys differ from frontendConfig's keys (-frontendConfig +managedFrontendKeys):\n%s", diff)
	}
}

// TestLostValuesDoNotCascade: a value that cannot be read is reported once;
// the rest of its object still loads, and nothing else is reported because
// of it.
// TestNoFleetNamesTheDirectory: when no file holds a spec (only other
// documents, or only files fleiogen generated), "no Fleet found" names the
// spec directory, not an empty file name.
func TestNoFleetNamesTheDirectory(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"other documents": {"other.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"},
		"generated files": {"tenants/billing/namespace.yaml": Header + "apiVersion: v1\nkind: Namespace\nmetadata: {name: billing}\n"},
	} {
		err := loadAndValidate(files)
		want := "specs: no Fleet found: add a fleiogen.io/v1alpha1 Fleet"
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: got %v, want a problem starting %q", name, err, want)
		}
	}
}

func TestLostValuesDoNotCascade(t *testing.T) {
	for _, tc := range []struct {
		name, fleet, billing string
		want, absent         []string
	}{
		{
			name:    "a bad switch keeps the fields after it",
			billing: edit(t, validBilling, "  databaseConnection: db\n", "  databaseConnection: db\n  enableBackups: 3\n"),
			want:    []string{"spec.enableBackups:"},
			absent:  []string{"required"},
		},
		{
			name:   "a Fleet that lost its clusters",
			fleet:  validFleet[:strings.Index(validFleet, "  clusters:")] + "  clusters: 5\n" + validFleet[strings.Index(validFleet, "  environments:"):],
			want:   []string{"spec.clusters: expected a list, got the number 5"},
			absent: []string{"not run by any cluster", "billing.yaml"},
		},
		{
			// the deployment's namespace comes from the Fleet's default;
			// its own problem is reported, its namespace is not "empty"
			name:    "an invalid deployment in the default namespace",
			fleet:   edit(t, validFleet, "spec:\n", "spec:\n  defaultNamespace: billing\n"),
			billing: edit(t, edit(t, validBilling, "  name: cloud\n  namespace: billing\n", "  name: cloud\n"), "  domain: ", "  domain: -x-"),
			want:    []string{"spec.domain:"},
			absent:  []string{"has no FleioDeployment"},
		},
		{
			name:    "an object that lost its name",
			billing: edit(t, validBilling, "  name: db\n", "  name: [db]\n"),
			want:    []string{"metadata.name: expected a string, got a list"},
			absent:  []string{"not found"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"fleet.yaml": validFleet, "billing.yaml": validBilling}
			if tc.fleet != "" {
				files["fleet.yaml"] = tc.fleet
			}
			if tc.billing != "" {
				files["billing.yaml"] = tc.billing
			}
			err := loadAndValidate(files)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(err.Error(), a) {
					t.Errorf("%q should not be reported:\n%v", a, err)
				}
			}
		})
	}
}

// TestForeignDocumentsAreSkippedUnread: a document of another API group is
// skipped before it is converted, whatever YAML it uses.
func TestForeignDocumentsAreSkippedUnread(t *testing.T) {
	deep := "apiVersion: example.com/v1\nkind: Deep\nspec: " + strings.Repeat("[", 150) + strings.Repeat("]", 150) + "\n"
	tags := "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  B:\n    Properties:\n      Name: !Sub '${AWS::StackName}'\n"
	merge := ".defaults: &d\n  image: x\njob:\n  <<: *d\n"
	huge := "swagger: '2.0'\nmax: 18446744073709551615\n"
	files := map[string]string{"fleet.yaml": validFleet, "billing.yaml": validBilling, "deep.yaml": deep, "cfn.yaml": tags, "ci.yaml": merge, "swagger.yaml": huge}
	if err := loadAndValidate(files); err != nil {
		t.Fatalf("foreign documents refused:\n%v", err)
	}
}

func TestSecretSettingName(t *testing.T) {
	for name, want := range map[string]bool{
		"EMAIL_HOST_PASSWORD": true, "SOCIAL_AUTH_GOOGLE_OAUTH2_SECRET": true, "AWS_SECRET_ACCESS_KEY": true, "MAILGUN_API_KEY": true,
		"JWT_SIGNING_KEY": true, "GITHUB_TOKEN": true, "apiToken": true, "PASSWORD": true,
		"RECAPTCHA_SITE_KEY": false, "STRIPE_PUBLISHABLE_KEY": false, "SOCIAL_AUTH_GOOGLE_OAUTH2_KEY": false, "PRIMARY_KEY": false,
		"PUBLIC_KEY": false, "PASSWORD_HASHERS": false, "AUTH_PASSWORD_VALIDATORS": false, "PASSWORD_RESET_TIMEOUT": false,
		"CACHE_MIDDLEWARE_KEY_PREFIX": false, "SESSION_COOKIE_AGE": false, "TOKEN_EXPIRY_DAYS": false, "key": false, "secret": false,
		// a license key is a secret; "public", "publishable" and "site"
		// exempt only the word they qualify; "pass" after another word
		"FLEIO_LICENSE_KEY": true, "LICENSE_KEY": true, "SITE_EMAIL_HOST_PASSWORD": true, "SITE_PASSWORD": true, "PUBLIC_API_TOKEN": true,
		"PUBLISHABLE_SECRET_KEY": true, "EMAIL_PASS": true, "pass": false, "SITE_KEY": false, "recaptchaPublicKey": false, "PUBLIC_TOKEN": false,
		"LICENSE_UUID": false, "SITE_URL": false,
		// numbered and plural forms, and Django's former secret keys
		"EMAIL_HOST_PASSWORD_2": true, "AWS_SECRET_ACCESS_KEY2": true, "FERNET_KEYS": true, "API_TOKENS": true, "SECRET_KEY_FALLBACKS": true,
		"DB_PASSWORDS": true, "PUBLIC_KEYS": false, "PRIMARY_KEYS": false, "OAUTH2_SCOPES_2": false, "LOG_LEVEL_2": false,
	} {
		if got := SecretSettingName(name, false); got != want {
			t.Errorf("SecretSettingName(%q) = %v, want %v", name, got, want)
		}
	}
	// Served to every browser anyway: tokens and API keys are not refused.
	for name, want := range map[string]bool{"googleMapsApiKey": false, "recaptchaSiteKey": false, "apiToken": false, "adminPassword": true, "privateKey": true,
		"licenseKey": true, "siteAdminPassword": true, "adminPass": true, "pass": false, "publicKey": false} {
		if got := SecretSettingName(name, true); got != want {
			t.Errorf("SecretSettingName(%q, browser) = %v, want %v", name, got, want)
		}
	}
}

func TestSecretsInsideSettings(t *testing.T) {
	billing := strings.Replace(validBilling, "  databaseConnection: db\n", "  databaseConnection: db\n  settings:\n    CACHES: {default: {OPTIONS: {PASSWORD: hunter2}}, other: {OPTIONS: {PASSWORD: 123456789, API_TOKENS: [abc]}}}\n    PASSWORD_HASHERS: [a, b]\n    RECAPTCHA_SITE_KEY: k1\n    STRIPE_PUBLISHABLE_KEY: pk_live_k2\n    PUBLIC_KEY: k3\n    SENTRY_DSN: \"https://pub@sentry.example.com/1\"\n    CACHE_URL: \"redis://redis:6379/1\"\n    DOCS: \"https://host:8080/a@b\"\n    SKU: task_live_1\n  frontendSettings:\n    enduser: {auth: {adminPassword: x}, googleMapsApiKey: k}\n", 1)
	fleet := edit(t, validFleet, "https://git.example.com/fleet.git", "https://git.example.com/fleet.git?token=abc")
	err := loadAndValidate(map[string]string{"fleet.yaml": fleet, "billing.yaml": billing})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, w := range []string{"spec.settings.CACHES.default.OPTIONS.PASSWORD: looks like a secret", "spec.settings.CACHES.other.OPTIONS.PASSWORD: looks like a secret", "spec.settings.CACHES.other.OPTIONS.API_TOKENS: looks like a secret", "spec.frontendSettings.enduser.auth.adminPassword: looks like a secret", `spec.repository.url: "https://git.example.com/fleet.git?token=abc" has a query`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
	for _, a := range []string{"PASSWORD_HASHERS", "googleMapsApiKey", "RECAPTCHA_SITE_KEY", "STRIPE_PUBLISHABLE_KEY", "PUBLIC_KEY", "SENTRY_DSN", "CACHE_URL", "DOCS", "SKU"} {
		if strings.Contains(err.Error(), a) {
			t.Errorf("%s refused:\n%v", a, err)
		}
	}
}

// TestCredentialName is the rule the review flags secret material by.
func TestCredentialName(t *testing.T) {
	for name, want := range map[string]bool{
		"SECRET_KEY": true, "EMAIL_HOST_PASSWORD": true, "apiToken": true, "AWS_SECRET_ACCESS_KEY": true,
		"db-passwd": true, "FLEIO_SSO_SALT": true, "RECAPTCHA_PRIVATE_KEY": true,
		"SECRET_NAME": false, "REQUIRED_SECRET_0_FROM": false, "PUBLIC_KEY": false, "recaptchaPublicKey": false,
		"FLEIO_LICENSE_UUID": false, "SESSION_COOKIE_AGE": false, "key": false, "token": false, "": false,
	} {
		if got := CredentialName(name); got != want {
			t.Errorf("CredentialName(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestSettingLineSizeMatchesTheRender: the size validation counts for a
// setting is what the setting adds to the rendered settings.py.
func TestSettingLineSizeMatchesTheRender(t *testing.T) {
	render := func(settings string) string {
		t.Helper()
		billing := strings.Replace(validBilling, "  databaseConnection: db\n", "  databaseConnection: db\n  settings:\n    A: 1\n"+settings, 1)
		specs, err := Load(fstest.MapFS{"f.yaml": {Data: []byte(validFleet)}, "b.yaml": {Data: []byte(billing)}}, "specs")
		if err != nil {
			t.Fatal(err)
		}
		m, err := Validate(specs)
		if err != nil {
			t.Fatal(err)
		}
		s, err := renderSettings(m, m.Deployments[0], m.Environments["staging"])
		if err != nil {
			t.Fatal(err)
		}
		return s.backend.Data["settings"]
	}
	base := render("")
	for _, value := range []string{`"it's \\ a $HOME"`, `{b: [1, 2.5, null, true], a: "x\ty\u00e9"}`, `"` + strings.Repeat("$'", 100) + `"`, `[]`} {
		var raw any
		if err := yaml.Unmarshal([]byte(value), &raw); err != nil {
			t.Fatal(err)
		}
		js, _ := json.Marshal(raw)
		lit, err := pythonLiteral(js)
		if err != nil {
			t.Fatal(err)
		}
		got := len(render("    B_SETTING: " + value + "\n"))
		if want := len(base) + settingLineSize("B_SETTING", lit); got != want {
			t.Errorf("B_SETTING: %s: rendered settings.py has %d bytes, validation counts %d", value, got, want)
		}
	}
}

// TestImageRelease: the release an image override names by its
// repository, whatever its registry port, tag or digest.
func TestImageRelease(t *testing.T) {
	digest := "@sha256:" + strings.Repeat("a", 64)
	for ref, want := range map[string][2]int{
		"hub.fleio.com/fleio_backend-2025-06:1":                     {2025, 6},
		"registry.example.net:5000/mirror/fleio_web-2024-12":        {2024, 12},
		"registry.example.net/fleio_web-2025-05:2-hotfix1" + digest: {2025, 5},
		"registry.example.net/fleio_web-2025-05" + digest:           {2025, 5},
		"registry.example.net:2025/fleio_web:2025-06":               {0, 0}, // the tag is not the repository
		"registry.example.net/fleio_web-2025-06/mirror":             {0, 0},
		"registry.example.net/fleio_web":                            {0, 0},
	} {
		y, m, ok := imageRelease(ref)
		if got := [2]int{y, m}; got != want || ok != (want != [2]int{}) {
			t.Errorf("imageRelease(%q) = %d, %d, %v; want %v", ref, y, m, ok, want)
		}
	}
}

// TestSameConnectionOnClustersApart: two namespaces that no cluster runs
// together may name the same host, port and database: a Service name
// reaches a server per cluster. On one cluster, they are refused.
func TestSameConnectionOnClustersApart(t *testing.T) {
	hosting := edit(t, edit(t, strings.ReplaceAll(validBilling, "namespace: billing", "namespace: hosting"),
		"name: cloud", "name: panel"), "domain: cloud.example.com", "domain: panel.example.com")
	apart := validFleet[:strings.Index(validFleet, "  environments:")] +
		"    - name: other\n      environment: staging\n      branch: main\n      domain: other.example.com\n      tenants: [hosting]\n" +
		validFleet[strings.Index(validFleet, "  environments:"):]
	if err := loadAndValidate(map[string]string{"fleet.yaml": apart, "billing.yaml": validBilling, "hosting.yaml": hosting}); err != nil {
		t.Errorf("namespaces on clusters apart refused:\n%v", err)
	}
	together := edit(t, apart, "tenants: [hosting]", "tenants: [hosting, billing]")
	err := loadAndValidate(map[string]string{"fleet.yaml": together, "billing.yaml": validBilling, "hosting.yaml": hosting})
	if err == nil || !strings.Contains(err.Error(), "is also used by FleioDeployment billing/cloud") {
		t.Errorf("namespaces one cluster runs together, on one database: got %v", err)
	}
}

// TestReadingProblemsDoNotHideOthers: a value or document that cannot be
// read stops only the checks it could mislead (across objects, or against
// the lost value); every other problem, in the same file or another, is
// still reported, and no follow-on of the lost value is.
func TestReadingProblemsDoNotHideOthers(t *testing.T) {
	hosting := edit(t, edit(t, strings.ReplaceAll(validBilling, "namespace: billing", "namespace: hosting"),
		"name: cloud", "name: panel"), "domain: cloud.example.com", "domain: panel.example.com")
	// followOns would each report what a lost value left behind.
	followOns := []string{"not found in namespace", "has no FleioDeployment", "is not run by any cluster", "also used by", "is not defined in spec.environments"}
	for _, tc := range []struct {
		name  string
		files map[string]string
		// want is every problem, in the order reported.
		want []string
	}{
		{
			name: "a lost name, a bad port in another file, a bad Fleet branch",
			files: map[string]string{
				"fleet.yaml":   edit(t, edit(t, validFleet, "tenants: [billing]", "tenants: [billing, hosting]"), "branch: main", `branch: "bad..branch"`),
				"billing.yaml": edit(t, validBilling, "  name: cloud\n", "  name: 123\n"),
				"hosting.yaml": edit(t, hosting, "port: 3306", "port: 0"),
			},
			want: []string{
				`specs/billing.yaml:26: metadata.name: expected a string, got the number 123`,
				`specs/fleet.yaml:11: spec.clusters[0].branch: "bad..branch" is not a valid Git branch name`,
				`specs/hosting.yaml:8: spec.port: 0 is not a valid port (1 to 65535)`,
			},
		},
		{
			name: "a Fleet field of the wrong type and a bad domain",
			files: map[string]string{
				"fleet.yaml":   edit(t, validFleet, "tenants: [billing]", "tenants: billing"),
				"billing.yaml": edit(t, validBilling, "domain: cloud.example.com", "domain: cloud..example"),
			},
			want: []string{
				`specs/billing.yaml:34: spec.domain: "cloud..example" is not a valid domain name (lower-case DNS labels separated by dots, such as fleio.example.com)`,
				`specs/fleet.yaml:13: spec.clusters[0].tenants: expected a list, got the string "billing"`,
			},
		},
		{
			name: "an unsupported kind, a bad cron in the same file, a bad e-mail address in the Fleet",
			files: map[string]string{
				"fleet.yaml": edit(t, validFleet, "email: ops@example.com", "email: ops"),
				"billing.yaml": edit(t, edit(t, validBilling, "kind: FleioDbConnection", "kind: FleioDbConnexion"),
					"  domain: cloud.example.com\n", "  domain: cloud.example.com\n  backupSchedule: \"61 * * * *\"\n"),
			},
			want: []string{
				`specs/billing.yaml:2: kind: unsupported apiVersion "k8s.fleio.com/v1" and kind "FleioDbConnexion" (supported: k8s.fleio.com/v1 FleioDeployment, FleioDbConnection, FleioRedisConnection; fleiogen.io/v1alpha1 Fleet)`,
				`specs/billing.yaml:35: spec.backupSchedule: "61 * * * *" is not a cron schedule (five fields, such as "2 * * * *", or @hourly/@daily/@weekly): end of range (61) above maximum (59): 61`,
				`specs/fleet.yaml:17: spec.environments[0].acme.email: "ops" is not an e-mail address`,
			},
		},
		{
			name: "invalid YAML in one file, a bad Redis database in another",
			files: map[string]string{
				"fleet.yaml":   validFleet,
				"billing.yaml": edit(t, validBilling, "  port: 3306\n", "  port: [3306\n"),
				"hosting.yaml": edit(t, hosting, `databaseId: "0"`, `databaseId: "zero"`),
			},
			want: []string{
				`specs/billing.yaml:7: invalid YAML: did not find expected ',' or ']'` + notASpec,
				`specs/hosting.yaml:21: spec.databaseId: "zero" is not a Redis database number (a string of digits such as "0")`,
			},
		},
		{
			// the Fleet may be in the file that could not be read, and set
			// spec.defaultNamespace: no "no Fleet found", no namespace "required"
			name: "a Fleet that is not YAML, objects without a namespace and a bad port",
			files: map[string]string{
				"fleet.yaml":   edit(t, validFleet, "tenants: [billing]", "tenants: [billing"),
				"billing.yaml": edit(t, strings.ReplaceAll(validBilling, "  namespace: billing\n", ""), "port: 3306", "port: 0"),
			},
			want: []string{
				`specs/billing.yaml:7: spec.port: 0 is not a valid port (1 to 65535)`,
				`specs/fleet.yaml:12: invalid YAML: did not find expected ',' or ']'` + notASpec,
			},
		},
		{
			// nor is a missing namespace: the Fleet may set a default
			name: "no Fleet, objects without a namespace and a bad port",
			files: map[string]string{
				"billing.yaml": edit(t, strings.ReplaceAll(validBilling, "  namespace: billing\n", ""), "port: 3306", "port: 0"),
			},
			want: []string{
				`specs/billing.yaml:1: no Fleet found: add a fleiogen.io/v1alpha1 Fleet that names the repository and the clusters`,
				`specs/billing.yaml:7: spec.port: 0 is not a valid port (1 to 65535)`,
			},
		},
		{
			name: "a lost environment name: the cluster's environment is not reported as undefined",
			files: map[string]string{
				"fleet.yaml":   edit(t, validFleet, "  environments:\n    - name: staging\n", "  environments:\n    - name: [staging]\n"),
				"billing.yaml": edit(t, validBilling, "port: 3306", "port: 70000"),
			},
			want: []string{
				`specs/billing.yaml:8: spec.port: 70000 is not a valid port (1 to 65535)`,
				`specs/fleet.yaml:15: spec.environments[0].name: expected a string, got a list`,
			},
		},
		{
			name: "a lost default limit: the merged resources are not compared with the built-in one",
			files: map[string]string{
				"fleet.yaml":   validFleet + "      resources:\n        default:\n          limits: {memory: lots}\n        frontend:\n          requests: {memory: 256Mi}\n      replicas: {web: 101}\n",
				"billing.yaml": validBilling,
			},
			want: []string{
				`specs/fleet.yaml:20: spec.environments[0].resources.default.limits.memory: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
				`specs/fleet.yaml:23: spec.environments[0].replicas.web: 101 is out of range (0 to 100)`,
			},
		},
		{
			name: "a lost version: image overrides are not compared with the default",
			files: map[string]string{
				"fleet.yaml": validFleet,
				"billing.yaml": validBilling + "  version: [2025, 5]\n  advanced:\n    deploymentsOverrides:\n" +
					"      backend: {imagePath: registry.example.net/mirror/fleio_backend-2025-05}\n      web: {imagePath: \"Not An Image\"}\n",
			},
			want: []string{
				`specs/billing.yaml:35: spec.version: expected a string, got a list`,
				`specs/billing.yaml:39: spec.advanced.deploymentsOverrides.web.imagePath: "Not An Image" is not a valid image reference (registry/path[:tag][@sha256:digest])`,
			},
		},
		{
			// its messages do not quote the name and namespace it lacks
			name: "an inline license key in a deployment that lost its name and has no namespace",
			files: map[string]string{
				"fleet.yaml": validFleet,
				"billing.yaml": edit(t, edit(t, validBilling, "  name: cloud\n  namespace: billing\n", "  name: [cloud]\n"),
					"    uuid: abc-123\n", "    uuid: abc-123\n    key: zq1\n"),
			},
			want: []string{
				`specs/billing.yaml:25: metadata.namespace: required (or set spec.defaultNamespace in the Fleet)`,
				`specs/billing.yaml:26: metadata.name: expected a string, got a list`,
				`specs/billing.yaml:30: spec.license.key: an inline license key would be committed to git; move it into a Secret and reference it: ` +
					`kubectl create secret generic fleio-<name>-license -n <namespace> --from-literal=key=<license key>, then remove spec.license.key (spec.license.keySecret names the Secret; default fleio-<name>-license)`,
			},
		},
		{
			// it may be the one the deployment names
			name: "a connection without a namespace, and no default namespace",
			files: map[string]string{
				"fleet.yaml":   validFleet,
				"billing.yaml": edit(t, validBilling, "  name: db\n  namespace: billing\n", "  name: db\n"),
			},
			want: []string{`specs/billing.yaml:3: metadata.namespace: required (or set spec.defaultNamespace in the Fleet)`},
		},
		{
			name: "no namespace and no default namespace: only that is reported",
			files: map[string]string{
				"fleet.yaml":   validFleet,
				"billing.yaml": strings.ReplaceAll(validBilling, "  namespace: billing\n", ""),
			},
			want: []string{
				`specs/billing.yaml:3: metadata.namespace: required (or set spec.defaultNamespace in the Fleet)`,
				`specs/billing.yaml:13: metadata.namespace: required (or set spec.defaultNamespace in the Fleet)`,
				`specs/billing.yaml:23: metadata.namespace: required (or set spec.defaultNamespace in the Fleet)`,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := loadAndValidate(tc.files)
			if err == nil {
				t.Fatal("accepted")
			}
			if diff := cmp.Diff(tc.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			for _, a := range followOns {
				if strings.Contains(err.Error(), a) {
					t.Errorf("follow-on %q reported:\n%v", a, err)
				}
			}
		})
	}
}

// TestValidBranch follows git check-ref-format --branch for the names
// branchRe lets through; when git is installed the test asks it too.
func TestValidBranch(t *testing.T) {
	for name, want := range map[string]bool{
		"main": true, "prod": true, "release/2025.06": true, "feature/a-b_c": true, "v1.2": true,
		"": false, "HEAD": false, "a/.b": false, ".a": false, "main.": false, "a.lock/b": false, "a.lock": false,
		"a..b": false, "a//b": false, "a/": false, "/a": false, "a b": false, "a~1": false,
	} {
		if got := validBranch(name); got != want {
			t.Errorf("validBranch(%q) = %v, want %v", name, got, want)
		}
		if git, err := exec.LookPath("git"); err == nil && name != "" && name != "HEAD" {
			err := exec.Command(git, "check-ref-format", "refs/heads/"+name).Run()
			if (err == nil) != want && branchRe.MatchString(name) {
				t.Errorf("git check-ref-format refs/heads/%s: %v, fleiogen says %v", name, err, want)
			}
		}
	}
}

// TestSecretSettingValues: a name that names a secret refuses any value
// (a string, a number, a list of them); a name that only names several
// (a plural) or holds "secret key" somewhere refuses strings only, so
// counts and switches named like them pass.
func TestSecretSettingValues(t *testing.T) {
	for _, tc := range []struct {
		setting string
		refused bool
	}{
		{"MAX_TOKENS: 4096", false}, {"OPENAI_MAX_TOKENS: 500", false}, {"ENABLE_API_KEYS: true", false},
		{"ROTATE_SECRETS: false", false}, {"NUMBER_OF_SECRETS: 3", false}, {"SECRET_KEY_ROTATION_DAYS: 90", false},
		{"SECRET_KEY_FALLBACKS: []", false}, {"CORS_ALLOW_CREDENTIALS: true", false}, {"EMAIL_HOST_PASSWORD: \"\"", false},
		{"SECRET_KEY_FALLBACKS: [old-key]", true}, {"FERNET_KEYS: [k1]", true}, {"API_TOKENS: abc", true},
		{"EMAIL_HOST_PASSWORD: 123456", true}, {"EMAIL_HOST_PASSWORD_2: x", true}, {"AWS_SECRET_ACCESS_KEY2: [x]", true},
	} {
		billing := strings.Replace(validBilling, "  databaseConnection: db\n", "  databaseConnection: db\n  settings:\n    "+tc.setting+"\n", 1)
		err := loadAndValidate(map[string]string{"fleet.yaml": validFleet, "billing.yaml": billing})
		if refused := err != nil && strings.Contains(err.Error(), "looks like a secret"); refused != tc.refused {
			t.Errorf("%s: refused %v, want %v: %v", tc.setting, refused, tc.refused, err)
		}
	}
}

// TestWholeBytes: fractions of a byte are refused, also past where
// MilliValue overflows (9Pi used to read as a fraction).
func TestWholeBytes(t *testing.T) {
	for q, want := range map[string]bool{"1": true, "5Gi": true, "1.5Gi": true, "9Pi": true, "1Ei": true, "7Ei": true, "1.5": false, "500m": false, "100m": false, "1.1Ki": false} {
		if got := wholeBytes(resource.MustParse(q)); got != want {
			t.Errorf("wholeBytes(%s) = %v, want %v", q, got, want)
		}
	}
}

// TestSecretsInMappingKeys: a mapping key is written into the settings
// files as a value is, so a key that is a secret is refused as a value
// would be, and the problem names the mapping, never the key.
func TestSecretsInMappingKeys(t *testing.T) {
	billing := strings.Replace(validBilling, "  databaseConnection: db\n", "  databaseConnection: db\n"+
		"  settings:\n"+
		"    MAIL_ROUTES: {\"smtp://mailer:hunter2@smtp.example.com:587\": default}\n"+
		"    HOOKS: [{\"sk_live_51Habcdef\": stripe}]\n"+
		"    PLAIN: {\"https://docs.example.com/a@b\": 1}\n"+
		"  frontendSettings:\n"+
		"    enduser:\n"+
		"      endpoints: {\"https://admin:hunter2@api.example.com\": 1}\n"+
		"      \"https://root:hunter2@top.example.com\": 1\n", 1)
	err := loadAndValidate(map[string]string{"fleet.yaml": validFleet, "billing.yaml": billing})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, w := range []string{
		"specs/billing.yaml:33: spec.settings.MAIL_ROUTES: holds a key that is a URL with a password",
		"specs/billing.yaml:34: spec.settings.HOOKS[0]: holds a key that is a Stripe secret key",
		"specs/billing.yaml:38: spec.frontendSettings.enduser.endpoints: holds a key that is a URL with a password",
		"specs/billing.yaml:37: spec.frontendSettings.enduser: holds a key that is a URL with a password",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
	for _, a := range []string{"hunter2", "sk_live_51", "PLAIN"} {
		if strings.Contains(err.Error(), a) {
			t.Errorf("%s in the problems:\n%v", a, err)
		}
	}
}

// TestProblemsStayOnTheirLine: a mapping key or file name that holds a
// newline, an escape sequence or a bidirectional override is written
// escaped, so that each problem is one line and none drives the terminal.
func TestProblemsStayOnTheirLine(t *testing.T) {
	billing := strings.Replace(validBilling, "  databaseConnection: db\n", "  databaseConnection: db\n"+
		"  settings:\n"+
		"    \"\\e[2J\\e[31mOWNED\\nspecs/billing.yaml:1: fake\": 1\n"+
		"    \"A\\u202eB\": 2\n", 1)
	err := loadAndValidate(map[string]string{"fleet.yaml": validFleet, "billing.yaml": billing, "bad\nname.yaml": "kind: [\n"})
	if err == nil {
		t.Fatal("accepted")
	}
	ps, ok := err.(Problems)
	if !ok {
		t.Fatalf("%T, want Problems", err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(ps) {
		t.Errorf("%d problems on %d lines:\n%v", len(ps), len(lines), err)
	}
	for _, l := range lines {
		for _, r := range l {
			if r == 0x1b || r == 0x202e || r < 0x20 {
				t.Errorf("unescaped %U in %q", r, l)
			}
		}
	}
	for _, w := range []string{`spec.settings.\x1b[2J\x1b[31mOWNED\nspecs/billing.yaml:1: fake: not a Django setting name`, `spec.settings.A\u202eB: not a Django setting name`, `specs/bad\nname.yaml:1: `} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
}
