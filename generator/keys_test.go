package generator

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// fakeKubectl plays kubectl for the deployment-keys script: it logs each
// call to $KUBECTL_LOG and keeps the Secret as a file under $KUBECTL_STATE
// (get: exit 1 when absent; create: exit 1 when present, as AlreadyExists).
// $KUBECTL_CREATE_RACE makes a Secret appear between get and create, as when
// another run of the Job created it first.
const fakeKubectl = `#!/bin/sh
echo "$*" >> "$KUBECTL_LOG"
verb=$1; kind=$2; shift 2
[ "$kind" = secret ] || { echo "unexpected kind $kind" >&2; exit 2; }
if [ "$verb" = create ]; then
  [ "$1" = generic ] || { echo "unexpected secret type $1" >&2; exit 2; }
  shift
fi
name=$1; shift
state="$KUBECTL_STATE/$name"
case $verb in
get) [ -e "$state" ] || { echo "NotFound" >&2; exit 1; } ;;
create)
  if [ -n "${KUBECTL_CREATE_RACE:-}" ]; then echo "theirs" > "$state"; fi
  [ -e "$state" ] && { echo "AlreadyExists" >&2; exit 1; }
  printf '%s\n' "$@" > "$state" ;;
label) [ -e "$state" ] || exit 1 ;;
*) echo "unexpected verb $verb" >&2; exit 2 ;;
esac
`

// TestDeploymentKeysScript runs the rendered deployment-keys Job's script
// with a stand-in kubectl: it creates the Secret with two random keys and
// labels it when it is missing, and never changes or deletes one that
// exists (the operator's, or another run's): the data the database was
// encrypted with depends on it. Every kubectl call must be one the Job's
// Role allows.
func TestDeploymentKeysScript(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	m, files := renderDir(t, filepath.Join(repoRoot, "examples/fleet"))
	d := m.Deployments[0]
	tree := filesMap(files)
	var job batchv1.Job
	for _, doc := range splitDocs([]byte(tree["components/fleio/"+d.Namespace+"/"+d.Name+"/config/staging/config.yaml"])) {
		if yaml.Unmarshal(doc, &job) == nil && job.Kind == "Job" && job.Name == d.ObjectName("deployment-keys") {
			break
		}
		job = batchv1.Job{}
	}
	if job.Name == "" {
		t.Fatal("no deployment-keys Job")
	}
	c := job.Spec.Template.Spec.Containers[0]
	if len(c.Command) != 3 || c.Command[1] != "-c" {
		t.Fatalf("command %q, the test expects sh -c SCRIPT", c.Command)
	}
	var role rbacv1.Role
	for _, doc := range splitDocs([]byte(tree["tenants/"+d.Namespace+"/fleio-"+d.Name+".yaml"])) {
		if yaml.Unmarshal(doc, &role) == nil && role.Kind == "Role" && role.Name == job.Spec.Template.Spec.ServiceAccountName {
			break
		}
		role = rbacv1.Role{}
	}
	if role.Name == "" {
		t.Fatalf("no Role for the Job's account %s", job.Spec.Template.Spec.ServiceAccountName)
	}
	secret := d.ObjectName("deployment-keys")

	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "kubectl"), []byte(fakeKubectl), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(existing string, race bool) (calls []string, state string) {
		t.Helper()
		dir := t.TempDir()
		stateDir := filepath.Join(dir, "state")
		if err := os.Mkdir(stateDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if existing != "" {
			if err := os.WriteFile(filepath.Join(stateDir, secret), []byte(existing), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command(sh, "-c", c.Command[2])
		cmd.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "KUBECTL_LOG=" + filepath.Join(dir, "log"), "KUBECTL_STATE=" + stateDir}
		for _, e := range c.Env {
			cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
		}
		if race {
			cmd.Env = append(cmd.Env, "KUBECTL_CREATE_RACE=1")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("script (Secret %q, race %v): %v\n%s\nkubectl calls:\n%s", existing, race, err, out, log)
		}
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		data, _ := os.ReadFile(filepath.Join(stateDir, secret))
		return strings.Split(strings.TrimSpace(string(log)), "\n"), string(data)
	}
	verb := func(call string) string { return strings.Fields(call)[0] }

	// The Secret exists: one get, nothing else.
	calls, state := run("the operator's keys\n", false)
	if len(calls) != 1 || verb(calls[0]) != "get" || state != "the operator's keys\n" {
		t.Errorf("existing Secret: calls %q, Secret now %q; want one get and the Secret unchanged", calls, state)
	}
	// Missing: created with two random 50-character keys, then labelled.
	calls, state = run("", false)
	if got := slices.Collect(func(yield func(string) bool) {
		for _, c := range calls {
			if !yield(verb(c)) {
				return
			}
		}
	}); !slices.Equal(got, []string{"get", "create", "label"}) {
		t.Errorf("missing Secret: calls %q, want get, create, label", calls)
	}
	keys := regexp.MustCompile(`(?m)^--from-literal=(secretKey|ssoSalt)=([A-Za-z0-9]{50})$`).FindAllStringSubmatch(state, -1)
	if len(keys) != 2 || keys[0][1] != "secretKey" || keys[1][1] != "ssoSalt" || keys[0][2] == keys[1][2] {
		t.Errorf("created Secret %q, want a secretKey and a different ssoSalt of 50 letters and digits", state)
	}
	if last := calls[len(calls)-1]; !strings.Contains(last, "app.kubernetes.io/managed-by=fleiogen") || !strings.Contains(last, "app.kubernetes.io/instance="+d.Name) {
		t.Errorf("label call %q", last)
	}
	// Another run created it between get and create: theirs is kept.
	calls, state = run("", true)
	if state != "theirs\n" || slices.ContainsFunc(calls, func(c string) bool { return verb(c) == "delete" }) {
		t.Errorf("create race: calls %q, Secret now %q; want theirs kept", calls, state)
	}

	// Each verb used (label is a patch) is allowed on that Secret.
	allowed := func(v string) bool {
		return slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.Resources, "secrets") && slices.Contains(r.Verbs, v) &&
				(len(r.ResourceNames) == 0 || slices.Contains(r.ResourceNames, secret))
		})
	}
	for _, v := range []string{"get", "create", "patch"} {
		if !allowed(v) {
			t.Errorf("the script needs %s on Secret %s, which Role %s does not allow", v, secret, role.Name)
		}
	}
}
