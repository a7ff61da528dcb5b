package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const examples = "../../examples/fleet"

func TestBuildGolden(t *testing.T) {
	code, stdout, stderr := run("build", "--cluster", "staging-1", "--deployment", "hosting/panel", "--stage", "app", examples)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	golden(t, "build-staging-1-panel-app.yaml", stdout)
	for _, want := range []string{"# Kustomization hosting/fleio-panel-app\n", "kustomize.toolkit.fluxcd.io/name: fleio-panel-app", "host: panel.hosting.staging.example.com"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	_, again, _ := run("build", "--cluster", "staging-1", "--deployment", "hosting/panel", "--stage", "app", examples)
	if again != stdout {
		t.Error("two builds printed different bytes")
	}
}

func TestBuildWholeClusterInApplyOrder(t *testing.T) {
	code, stdout, stderr := run("build", "--cluster", "prod-eu", examples)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var order []string
	for _, l := range strings.Split(stdout, "\n") {
		if id, ok := strings.CutPrefix(l, "# Kustomization "); ok && (len(order) == 0 || order[len(order)-1] != id) {
			order = append(order, id)
		}
	}
	want := []string{"flux-system/flux-system", "flux-system/platform-cert-manager", "flux-system/platform-issuers", "flux-system/tenant-billing", "flux-system/tenant-hosting",
		"billing/fleio-cloud-preflight", "billing/fleio-cloud-config", "billing/fleio-cloud-database", "billing/fleio-cloud-license", "billing/fleio-cloud-app",
		"hosting/fleio-panel-preflight", "hosting/fleio-panel-config", "hosting/fleio-panel-database", "hosting/fleio-panel-license", "hosting/fleio-panel-app"}
	if strings.Join(order, "\n") != strings.Join(want, "\n") {
		t.Errorf("Kustomizations in the stream:\n%s\nwant:\n%s", strings.Join(order, "\n"), strings.Join(want, "\n"))
	}
}

func TestBuildUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"build", examples}, "--cluster is required"},
		{[]string{"build", "--cluster", "nowhere", examples}, `--cluster "nowhere": no such cluster (clusters: prod-eu, staging-1)`},
		{[]string{"build", "--cluster", "prod-eu", "--stage", "deploy", examples}, `--stage "deploy": unknown stage (stages: preflight, config, database, license, app)`},
		{[]string{"build", "--cluster", "prod-eu", "--deployment", "billing/panel", examples}, "FleioDeployments: billing/cloud, hosting/panel"},
	} {
		code, stdout, stderr := run(tc.args...)
		if code != ExitInput || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %d bytes; want exit 2 and %q", tc.args, code, stderr, len(stdout), tc.want)
		}
	}
}

func TestGraph(t *testing.T) {
	for _, f := range []string{"mermaid", "dot"} {
		code, stdout, stderr := run("graph", "--cluster", "prod-eu", "-o", f, examples)
		if code != ExitOK {
			t.Fatalf("%s: exit %d: %s", f, code, stderr)
		}
		golden(t, "graph-prod-eu."+f, stdout)
	}
	// The README render writes holds the same Mermaid graph.
	out := t.TempDir()
	if code, _, stderr := run("render", examples, "-o", out); code != ExitOK {
		t.Fatal(stderr)
	}
	readme, _ := os.ReadFile(filepath.Join(out, "clusters/prod-eu/README.md"))
	_, mermaid, _ := run("graph", "--cluster", "prod-eu", examples)
	if !strings.Contains(string(readme), "```mermaid\n"+mermaid+"```") {
		t.Error("clusters/prod-eu/README.md does not hold the graph that fleiogen graph prints")
	}
	if code, _, _ := run("graph", "--cluster", "prod-eu", "-o", "svg", examples); code != ExitInput {
		t.Errorf("-o svg: exit %d, want %d", code, ExitInput)
	}
}

func TestCheck(t *testing.T) {
	out := t.TempDir()
	if code, _, stderr := run("render", examples, "-o", out); code != ExitOK {
		t.Fatal(stderr)
	}
	if code, stdout, stderr := run("check", examples, "-o", out); code != ExitOK || stdout != "" {
		t.Fatalf("fresh tree: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	replaceIn(t, filepath.Join(out, "tenants/billing/sync.yaml"), "interval: 1m0s", "interval: 5m0s")
	if err := os.Remove(filepath.Join(out, "clusters/prod-eu/tenants.yaml")); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run("check", examples, "-o", out, "--diff")
	if code != ExitDifferences {
		t.Fatalf("exit %d, want %d: %s", code, ExitDifferences, stderr)
	}
	for _, want := range []string{"missing:         clusters/prod-eu/tenants.yaml\n", "different:       tenants/billing/sync.yaml\n", "-  interval: 5m0s\n+  interval: 1m0s\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "2 files under") {
		t.Errorf("stderr: %s", stderr)
	}
	// -o naming a file is a usage error, as with render.
	if code, _, stderr := run("check", "../../examples/fleet", "-o", "../../examples/fleet/fleet.yaml"); code != ExitInput || !strings.Contains(stderr, "-o ../../examples/fleet/fleet.yaml: not a directory") {
		t.Errorf("check -o FILE: exit %d: %s", code, stderr)
	}
	// -o naming a link to nothing says so, for render and check, and
	// render makes nothing.
	dangling := filepath.Join(t.TempDir(), "out")
	if err := os.Symlink(filepath.Join(filepath.Dir(dangling), "gone"), dangling); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"render", "check"} {
		if code, _, stderr := run(cmd, "../../examples/fleet", "-o", dangling); code != ExitInput || !strings.Contains(stderr, "a symbolic link to "+filepath.Join(filepath.Dir(dangling), "gone")+", which does not exist") {
			t.Errorf("%s -o DANGLING: exit %d: %s", cmd, code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dangling), "gone")); err == nil {
		t.Error("render made the link's target")
	}
	// An empty -o is a usage error, not a failed mkdir of "".
	for _, cmd := range []string{"render", "check"} {
		if code, _, stderr := run(cmd, "../../examples/fleet", "-o", ""); code != ExitInput || !strings.Contains(stderr, `-o "": give a directory`) {
			t.Errorf("%s -o '': exit %d: %s", cmd, code, stderr)
		}
	}
}

func TestDiffExitCodes(t *testing.T) {
	repo := specsRepo(t)
	specs := filepath.Join(repo, "specs")
	if code, _, stderr := run("diff", "--base", "main", specs); code != ExitOK {
		t.Fatalf("no change: exit %d: %s", code, stderr)
	}
	replaceIn(t, filepath.Join(specs, "billing/fleio.yaml"), "enableBackups: yes", "enableBackups: no")
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"diff", "--base", "main", specs}, ExitDifferences},
		{[]string{"diff", "--base", "main", "--fail-on", "prune", specs}, ExitDifferences},
		{[]string{"diff", "--base", "main", "--fail-on", "secret,immutable", specs}, ExitOK},
		{[]string{"diff", "--base", "main", "--head", "main", specs}, ExitOK},
		{[]string{"diff", "--base", "no-such-ref", specs}, ExitInput},
		{[]string{"diff", "--base", "main", "--fail-on", "pruning", specs}, ExitInput},
		{[]string{"diff", "--base", "main", "--fail-on", ",", specs}, ExitInput},
		{[]string{"diff", "--base", "main", "--fail-on", " ", specs}, ExitInput},
		{[]string{"diff", "--base", "main", "--fail-on", "prune,unpromoted", specs}, ExitInput},
		{[]string{"diff", "--base", "main", "--fail-on", "all", specs}, ExitDifferences},
		{[]string{"diff", "--base", "main", "-o", "html", specs}, ExitInput},
		{[]string{"diff", "--base", "main", "--cluster", "nowhere", specs}, ExitInput},
		{[]string{"diff", specs}, ExitInput},
		{[]string{"diff", "--base", "main", "--tree", repo, specs}, ExitInput},
		{[]string{"diff", "--base", "main", t.TempDir()}, ExitFailure},
		// A DIR that does not exist or is a file is bad input, as for
		// every command; a directory outside git is the environment's.
		{[]string{"diff", "--base", "main", filepath.Join(repo, "no-such-dir")}, ExitInput},
		{[]string{"diff", "--base", "main", filepath.Join(specs, "fleet.yaml")}, ExitInput},
		{[]string{"promote", "--from", "main", "--to", "main", filepath.Join(repo, "no-such-dir")}, ExitInput},
	} {
		if code, _, stderr := run(tc.args...); code != tc.code {
			t.Errorf("%v: exit %d, want %d: %s", tc.args, code, tc.code, stderr)
		}
	}
	code, stdout, _ := run("diff", "--base", "main", "-o", "json", "--cluster", "prod-eu", specs)
	var rep struct {
		Clusters []struct{ Name string }
		Risks    []struct{ Name, Object string }
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != ExitDifferences {
		t.Fatalf("exit %d, %v", code, err)
	}
	if len(rep.Clusters) != 1 || rep.Clusters[0].Name != "prod-eu" || len(rep.Risks) != 1 || rep.Risks[0].Object != "CronJob billing/fleio-cloud-backup" {
		t.Errorf("report: %+v", rep)
	}
	// Invalid specs in the working tree are an input error.
	replaceIn(t, filepath.Join(specs, "billing/fleio.yaml"), "port: 3306", "port: 0")
	if code, _, stderr := run("diff", "--base", "main", specs); code != ExitInput || !strings.Contains(stderr, "spec.port") {
		t.Errorf("invalid specs: exit %d: %s", code, stderr)
	}
}

func TestPromote(t *testing.T) {
	repo := specsRepo(t)
	specs := filepath.Join(repo, "specs")
	gitIn(t, repo, "branch", "prod")
	replaceIn(t, filepath.Join(specs, "hosting/fleio.yaml"), "version: 2025.05.2", "version: 2025.06.1")
	// the image overrides name the release too (fleiogen refuses a mismatch)
	for _, svc := range []string{"backend", "frontend", "updated"} {
		replaceIn(t, filepath.Join(specs, "hosting/fleio.yaml"), "fleio_"+svc+"-2025-05", "fleio_"+svc+"-2025-06")
	}
	commitAll(t, repo, "hosting: 2025.06.1")
	before := gitIn(t, repo, "show-ref")

	code, stdout, stderr := run("promote", "--from", "main", "--to", "prod", specs)
	if code != ExitDifferences {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "cluster prod-eu (production, branch prod): 4 Kustomizations change") || strings.Contains(stdout, "staging-1") {
		t.Errorf("promote should show prod-eu only:\n%s", stdout)
	}
	if after := gitIn(t, repo, "show-ref"); after != before {
		t.Errorf("promote changed refs:\n%s\n%s", before, after)
	}
	if st := gitIn(t, repo, "status", "--porcelain"); st != "" {
		t.Errorf("promote changed the work tree:\n%s", st)
	}
	// A branch no cluster reads is a usage error, not "0 of 0 clusters
	// change" with exit 0, which would let a typo pass a CI gate.
	for _, args := range [][]string{{"promote", "--from", "main", "--to", "prod", "--branch", "prdo", specs}, {"diff", "--base", "prod", "--branch", "prdo", specs}} {
		if code, _, stderr := run(args...); code != ExitInput || !strings.Contains(stderr, `--branch "prdo": no cluster reads this branch (GIT_BRANCH of the clusters: main, prod)`) {
			t.Errorf("%v: exit %d: %s", args, code, stderr)
		}
	}
	if code, _, _ := run("promote", "--from", "main", "--to", "main", specs); code != ExitOK {
		t.Errorf("promoting main into itself: exit %d", code)
	}
	if code, _, stderr := run("promote", "--from", "main", "--to", "HEAD~1", specs); code != ExitInput || !strings.Contains(stderr, "--branch") {
		t.Errorf("--to HEAD~1: exit %d: %s", code, stderr)
	}
	// --cluster and --branch that select no cluster together.
	for _, args := range [][]string{{"promote", "--from", "main", "--to", "prod", "--cluster", "staging-1", specs}, {"diff", "--base", "prod", "--cluster", "staging-1", "--branch", "prod", "--fail-on", "all", specs}} {
		if code, _, stderr := run(args...); code != ExitInput || !strings.Contains(stderr, `--cluster "staging-1" reads main, not --branch "prod": the two select no cluster`) {
			t.Errorf("%v: exit %d: %s", args, code, stderr)
		}
	}
	// A --to that does not exist says so, rather than asking for --branch.
	if code, _, stderr := run("promote", "--from", "main", "--to", "prdo", specs); code != ExitInput || !strings.Contains(stderr, `--to: git revision "prdo": reference not found`) || strings.Contains(stderr, "--branch") {
		t.Errorf("--to prdo: exit %d: %s", code, stderr)
	}
	if code, _, _ := run("promote", "--from", "main", "--to", "HEAD~1", "--branch", "prod", specs); code != ExitDifferences {
		t.Errorf("--to HEAD~1 --branch prod: exit %d", code)
	}
}

// TestDiffMissingSides: specs or a rendered tree missing from the side
// under review, or moved away from where the base has its rendered tree,
// are usage errors: read as an empty fleet, they used to change nothing,
// fail no --fail-on, and exit 0.
func TestDiffMissingSides(t *testing.T) {
	repo := specsRepo(t)
	specs := filepath.Join(repo, "specs")
	if code, _, stderr := run("render", specs, "-o", repo); code != ExitOK {
		t.Fatalf("render: exit %d: %s", code, stderr)
	}
	commitAll(t, repo, "rendered tree")
	gitIn(t, repo, "branch", "other")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"diff", "--base", "main", "--head", "other", "--fail-on", "all", filepath.Join(repo, "nosuch")}, "other (" /* ... has no */},
		{[]string{"diff", "--base", "main", "--tree", filepath.Join(repo, "nosuch"), "--fail-on", "prune"}, "working tree has no rendered tree (clusters/, tenants/, components/) under"},
		{[]string{"diff", "--base", "main", "--main", "other", "--head", "main", filepath.Join(repo, "nosuch")}, "has no"},
	} {
		if code, _, stderr := run(tc.args...); code != ExitInput || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "has no") {
			t.Errorf("%v: exit %d, want %d: %s", tc.args, code, ExitInput, stderr)
		}
	}
	// The specs move: against the base, which has them at specs/ and the
	// tree at the root, the new directory is not "a new fleet".
	gitIn(t, repo, "mv", "specs", "fleet-specs")
	commitAll(t, repo, "move the specs")
	code, _, stderr := run("diff", "--base", "main~1", "--fail-on", "prune", filepath.Join(repo, "fleet-specs"))
	if code != ExitInput || !strings.Contains(stderr, "fleet-specs, but a rendered tree (clusters/): if the specs moved, compare the rendered trees with --tree") {
		t.Errorf("moved specs: exit %d: %s", code, stderr)
	}
	// A base with neither is a new fleet: a note, and everything is new.
	fresh := specsRepo(t)
	gitIn(t, fresh, "commit", "-q", "--allow-empty", "-m", "later")
	gitIn(t, fresh, "mv", "specs", "fleet-specs")
	commitAll(t, fresh, "move")
	code, _, stderr = run("diff", "--base", "main~2", filepath.Join(fresh, "fleet-specs"))
	if code != ExitDifferences || !strings.Contains(stderr, "everything is new") {
		t.Errorf("new fleet: exit %d: %s", code, stderr)
	}
}

// TestDiffSymlinkedSpec: a spec file committed as a symbolic link is named
// at a revision, not skipped (which dropped its deployments and blamed
// the Fleet for a namespace without any).
func TestDiffSymlinkedSpec(t *testing.T) {
	repo := specsRepo(t)
	hosting := filepath.Join(repo, "specs", "hosting", "fleio.yaml")
	data, err := os.ReadFile(hosting)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(repo, "shared"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "shared", "hosting.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(hosting); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../shared/hosting.yaml", hosting); err != nil {
		t.Fatal(err)
	}
	commitAll(t, repo, "hosting through a link")
	code, _, stderr := run("diff", "--base", "HEAD", filepath.Join(repo, "specs"))
	if code != ExitInput || !strings.Contains(stderr, "specs/hosting/fleio.yaml is a symbolic link, which fleiogen cannot follow in a git revision") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	// A link to a directory of specs, too (it has no .yaml name to tell).
	if err := os.Remove(hosting); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(repo, "shared", "hosting.yaml"), hosting); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(repo, "specs", "hosting"), filepath.Join(repo, "shared", "hosting")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../shared/hosting", filepath.Join(repo, "specs", "hosting")); err != nil {
		t.Fatal(err)
	}
	commitAll(t, repo, "hosting through a directory link")
	code, _, stderr = run("diff", "--base", "HEAD", "--head", "HEAD", filepath.Join(repo, "specs"))
	if code != ExitInput || !strings.Contains(stderr, "specs/hosting is a symbolic link") {
		t.Errorf("directory link: exit %d: %s", code, stderr)
	}
}
