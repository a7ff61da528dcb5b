package generator

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// fakeDrivers are stand-ins for the MySQLdb and redis modules of the
// backend image, reporting the versions in $FAKE_MARIADB and $FAKE_REDIS.
var fakeDrivers = map[string]string{
	"MySQLdb.py": `import os
class _Cursor:
    def execute(self, q): pass
    def fetchone(self): return (os.environ['FAKE_MARIADB'],)
class _Conn:
    def cursor(self): return _Cursor()
    def close(self): pass
def connect(**kw): return _Conn()
`,
	"redis.py": `import os
class Redis:
    def __init__(self, **kw):
        # settings.py logs in with a username only when there is a password.
        if kw.get('username') is not None and kw.get('password') is None:
            raise ValueError('username %r without a password: not the login settings.py makes' % kw['username'])
    def info(self, section): return {'redis_version': os.environ['FAKE_REDIS']}
`,
}

// apiCall is a request the preflight script made to the API server.
type apiCall struct {
	Method, Path string
	ConfigMap    *corev1.ConfigMap
}

// TestPreflightRecordsResults runs the rendered preflight script with
// python3, stand-in database drivers and an HTTPS server in place of the
// API server: it records a passed check in a ConfigMap owned by its Job
// (create, or replace one left by a former run), deletes the ConfigMap of
// a failed one, and exits 1 naming the failure. Needs python3 (.ci/run
// installs it).
func TestPreflightRecordsResults(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	var (
		mu       sync.Mutex
		calls    []apiCall
		existing = map[string]bool{}
	)
	// The environment the rendered Job gives the script comes below; its
	// Role, which the server checks each call against, first.
	m, files := renderDir(t, filepath.Join(repoRoot, "examples", "fleet"))
	d := m.Deployments[0]
	var role rbacv1.Role
	for _, doc := range splitDocs([]byte(filesMap(files)["tenants/"+d.Namespace+"/fleio-"+d.Name+".yaml"])) {
		if yaml.Unmarshal(doc, &role) == nil && role.Kind == "Role" && role.Name == d.ObjectName("preflight") {
			break
		}
		role = rbacv1.Role{}
	}
	if role.Name == "" {
		t.Fatal("no preflight Role")
	}
	allowed := func(verb, name string) bool {
		return slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.APIGroups, "") && slices.Contains(r.Resources, "configmaps") && slices.Contains(r.Verbs, verb) &&
				(len(r.ResourceNames) == 0 || slices.Contains(r.ResourceNames, name))
		})
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer test-token" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		c := apiCall{Method: r.Method, Path: r.URL.Path}
		if body, _ := io.ReadAll(r.Body); len(body) > 0 {
			c.ConfigMap = &corev1.ConfigMap{}
			dec := json.NewDecoder(strings.NewReader(string(body)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(c.ConfigMap); err != nil {
				t.Errorf("%s %s: body is not a ConfigMap: %v\n%s", r.Method, r.URL.Path, err, body)
			}
		}
		calls = append(calls, c)
		name := filepath.Base(r.URL.Path)
		// The Job's Role must allow the call, as the API server's RBAC
		// would: create on configmaps, get/update/delete on the two
		// result ConfigMaps by name.
		verb := map[string]string{http.MethodPost: "create", http.MethodPut: "update", http.MethodDelete: "delete", http.MethodGet: "get"}[r.Method]
		target := name
		if r.Method == http.MethodPost {
			target = ""
		}
		if !allowed(verb, target) {
			t.Errorf("%s %s: the preflight Job's Role does not allow %s on ConfigMap %q", r.Method, r.URL.Path, verb, target)
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		switch {
		case r.Method == http.MethodPost && existing[c.ConfigMap.Name]:
			http.Error(w, "exists", http.StatusConflict)
		case r.Method == http.MethodPost:
			existing[c.ConfigMap.Name] = true
			w.WriteHeader(http.StatusCreated)
		case r.Method == http.MethodPut && existing[name]:
		case r.Method == http.MethodDelete && existing[name]:
			delete(existing, name)
		default:
			http.Error(w, "not found", http.StatusNotFound)
		}
	}))
	defer srv.Close()

	dir := t.TempDir()
	sa := filepath.Join(dir, "serviceaccount")
	mods := filepath.Join(dir, "modules")
	for _, d := range []string{sa, mods} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, src := range fakeDrivers {
		if err := os.WriteFile(filepath.Join(mods, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(sa, "ca.crt"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sa, "token"), []byte("test-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(srv.URL)
	host, port, _ := net.SplitHostPort(u.Host)

	// The environment the rendered Job gives the script, with the
	// downward API's values filled in, and its Secret volumes under dir
	// (files written by the test where a Secret exists).
	job := (&renderer{m: m}).preflightJob(d)
	secrets := filepath.Join(dir, "secrets")
	env := []string{"PATH=" + os.Getenv("PATH"), "PYTHONPATH=" + mods, "SERVICEACCOUNT_DIR=" + sa,
		"KUBERNETES_SERVICE_HOST=" + host, "KUBERNETES_SERVICE_PORT=" + port,
		"PREFLIGHT_ROUNDS=1", "PREFLIGHT_FIRST_DELAY=0"}
	mounted := map[string]bool{}
	for _, vm := range job.Spec.Template.Spec.Containers[0].VolumeMounts {
		mounted[vm.MountPath] = true
	}
	var secretFiles []string
	for _, e := range job.Spec.Template.Spec.Containers[0].Env {
		switch {
		case e.ValueFrom == nil && strings.HasPrefix(e.Value, preflightSecrets+"/"):
			if !mounted[filepath.Dir(e.Value)] {
				t.Errorf("env %s names %s, which no volume mounts", e.Name, e.Value)
			}
			f := filepath.Join(secrets, strings.TrimPrefix(e.Value, preflightSecrets+"/"))
			env = append(env, e.Name+"="+f)
			if !slices.Contains(secretFiles, f) {
				secretFiles = append(secretFiles, f)
			}
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		case e.Name == "JOB_UID":
			env = append(env, e.Name+"=job-uid-1")
		case e.Name == "POD_NAMESPACE":
			env = append(env, e.Name+"="+d.Namespace)
		default:
			t.Fatalf("env %s: the test does not know its value", e.Name)
		}
	}
	for _, f := range secretFiles {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("from-secret"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	script := job.Spec.Template.Spec.Containers[0].Command
	if len(script) != 3 || script[0] != "python3" || script[1] != "-c" {
		t.Fatalf("preflight command is %q, the test expects python3 -c SCRIPT", script)
	}
	run := func(mariadb, redis string, more ...string) (string, int) {
		t.Helper()
		mu.Lock()
		calls = nil
		mu.Unlock()
		cmd := exec.Command(py, "-c", script[2])
		cmd.Env = append(append(slices.Clone(env), "FAKE_MARIADB="+mariadb, "FAKE_REDIS="+redis), more...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	base := "/api/v1/namespaces/" + d.Namespace + "/configmaps"
	dbResult, redisResult := d.PreflightResult("database"), d.PreflightResult("redis")

	// Redis too old: the database check is recorded, Redis's is not.
	out, code := run("10.11.13-MariaDB", "7.2.4")
	if code != 1 || !strings.Contains(out, "runs 7.2.4; Fleio needs Redis 7.4.2 or newer") {
		t.Errorf("Redis 7.2.4: exit %d, output:\n%s", code, out)
	}
	mu.Lock()
	got := slices.Clone(calls)
	mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("Redis 7.2.4: API calls %+v, want a POST and a DELETE", got)
	}
	if got[0].Method != http.MethodPost || got[0].Path != base || got[0].ConfigMap == nil || got[0].ConfigMap.Name != dbResult {
		t.Errorf("first call %s %s, want POST %s of ConfigMap %s", got[0].Method, got[0].Path, base, dbResult)
	} else {
		cm := got[0].ConfigMap
		owners := cm.OwnerReferences
		if len(owners) != 1 || owners[0].Kind != "Job" || owners[0].APIVersion != "batch/v1" || owners[0].Name != d.ObjectName("preflight") || owners[0].UID != "job-uid-1" {
			t.Errorf("ConfigMap %s owners %+v, want the Job %s (uid job-uid-1)", cm.Name, owners, d.ObjectName("preflight"))
		}
		if want := fmt.Sprintf("MariaDB 10.11.13-MariaDB at %s:%d, database %s", d.DB.Spec.Hostname, d.DB.Spec.Port, d.DB.Spec.DatabaseName); cm.Data["result"] != want {
			t.Errorf("ConfigMap %s result %q, want %q", cm.Name, cm.Data["result"], want)
		}
	}
	if diff := cmp.Diff(apiCall{Method: http.MethodDelete, Path: base + "/" + redisResult}, got[1]); diff != "" {
		t.Errorf("second call (-want +got):\n%s", diff)
	}

	// Both pass; the database's ConfigMap, left by the run before, is
	// replaced.
	out, code = run("10.11.13-MariaDB", "7.4.2")
	if code != 0 || !strings.Contains(out, "MariaDB, Redis and Secrets are ready") {
		t.Errorf("both ready: exit %d, output:\n%s", code, out)
	}
	mu.Lock()
	var methods []string
	for _, c := range calls {
		methods = append(methods, c.Method+" "+strings.TrimPrefix(c.Path, base))
	}
	mu.Unlock()
	want := []string{"POST ", "PUT /" + dbResult, "POST "}
	if diff := cmp.Diff(want, methods); diff != "" {
		t.Errorf("both ready: API calls (-want +got):\n%s", diff)
	}
	mu.Lock()
	if !existing[dbResult] || !existing[redisResult] {
		t.Errorf("after both passed, the ConfigMaps are %v, want %s and %s", existing, dbResult, redisResult)
	}
	mu.Unlock()

	// An empty Redis password passes (a Redis without authentication, so
	// without the username either, as settings.py connects), an empty admin
	// password does not.
	setFile := func(f, content string) {
		t.Helper()
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	redisPassword := filepath.Join(secrets, d.Redis.Spec.CredentialsSecret, "password")
	adminPassword := filepath.Join(secrets, d.Spec.AdminCredentialsSecret, "password")
	setFile(redisPassword, "")
	if out, code := run("10.11.13-MariaDB", "7.4.2"); code != 0 {
		t.Errorf("empty Redis password: exit %d, output:\n%s", code, out)
	}
	setFile(adminPassword, "")
	out, code = run("10.11.13-MariaDB", "7.4.2", "PREFLIGHT_ROUNDS=1")
	if want := "empty value: Secret " + d.Namespace + "/" + d.Spec.AdminCredentialsSecret + " key password"; code != 1 || !strings.Contains(out, want) || strings.Contains(out, d.Redis.Spec.CredentialsSecret+" key password") {
		t.Errorf("empty admin password: exit %d, output:\n%s\nwant %q, and nothing about the Redis password", code, out, want)
	}
	setFile(redisPassword, "from-secret")
	setFile(adminPassword, "from-secret")

	// A missing Secret is named, and the script checks again until the
	// last round (the rendered Job sets no PREFLIGHT_ROUNDS: it waits).
	license := filepath.Join(secrets, d.LicenseSecret, "key")
	if err := os.Remove(license); err != nil {
		t.Fatal(err)
	}
	out, code = run("10.11.13-MariaDB", "7.4.2", "PREFLIGHT_ROUNDS=3")
	if n := strings.Count(out, "missing Secret or key: Secret "+d.Namespace+"/"+d.LicenseSecret+" key key"); code != 1 || n != 3 {
		t.Errorf("license Secret missing, 3 rounds: exit %d, the Secret named %d times, output:\n%s", code, n, out)
	}
	if n := strings.Count(out, "checking again"); n != 2 {
		t.Errorf("3 rounds: %d waits, want 2; output:\n%s", n, out)
	}
	for _, e := range job.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "PREFLIGHT_ROUNDS" {
			t.Errorf("the rendered Job sets PREFLIGHT_ROUNDS=%s: it must check until everything passes", e.Value)
		}
	}
}
