package review

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/fleiogen/fleiogen/generator"
	"github.com/fleiogen/fleiogen/generator/fluxbuild"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fleetRepo is a temporary git repository holding a copy of
// examples/fleet under specs/ (and, when rendered, the tree at its root).
type fleetRepo struct {
	t   *testing.T
	dir string
}

// newFleetRepo copies examples/fleet into a new repository on branch main
// and commits it. With tree set, the rendered tree is committed too.
func newFleetRepo(t *testing.T, tree bool) *fleetRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	r := &fleetRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	copyDir(t, "../../examples/fleet", r.specs())
	if tree {
		r.render()
	}
	r.commit("initial fleet")
	return r
}

func (r *fleetRepo) specs() string { return filepath.Join(r.dir, "specs") }

func (r *fleetRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.dir, "-c", "commit.gpgsign=false", "-c", "user.name=test", "-c", "user.email=test@example.com"}, args...)...)
	// Fixed dates make commit hashes, and so the golden reports, stable.
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (r *fleetRepo) commit(msg string) {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
}

// edit replaces old with new in a file of the repository; old must occur.
func (r *fleetRepo) edit(path, old, new string) {
	r.t.Helper()
	p := filepath.Join(r.dir, path)
	data, err := os.ReadFile(p)
	if err != nil {
		r.t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		r.t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// render renders specs/ into the repository root, as make render does.
func (r *fleetRepo) render() {
	r.t.Helper()
	specs, err := generator.LoadDir(r.specs())
	if err != nil {
		r.t.Fatal(err)
	}
	m, err := generator.Validate(specs)
	if err != nil {
		r.t.Fatal(err)
	}
	files, err := generator.Render(m)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := generator.Write(r.dir, files); err != nil {
		r.t.Fatal(err)
	}
}

// compare builds base and head (the working tree when head is "") from the
// specs, or from the committed tree when tree is set, and compares them.
func (r *fleetRepo) compare(base, head string, tree bool, opt Options) *Report {
	r.t.Helper()
	repo, err := OpenRepo(r.dir)
	if err != nil {
		r.t.Fatal(err)
	}
	side := func(ref string) *Side {
		var rev *Revision
		if ref != "" {
			if rev, err = repo.Resolve(ref); err != nil {
				r.t.Fatal(err)
			}
		}
		var s *Side
		if tree {
			s, err = TreeSide(repo, rev, r.dir)
		} else {
			s, err = SpecsSide(repo, rev, r.specs())
		}
		if err != nil {
			r.t.Fatal(err)
		}
		return s
	}
	b, h := side(base), side(head)
	sides := []*Side{b, h}
	if opt.Main != nil {
		sides = append(sides, opt.Main)
	}
	if err := Build(fluxbuild.NewBuilder(), sides...); err != nil {
		r.t.Fatal(err)
	}
	return Compare(b, h, opt)
}

// mainSide reads and builds the specs at ref, for Options.Main.
func (r *fleetRepo) mainSide(ref string) *Side {
	r.t.Helper()
	repo, err := OpenRepo(r.dir)
	if err != nil {
		r.t.Fatal(err)
	}
	rev, err := repo.Resolve(ref)
	if err != nil {
		r.t.Fatal(err)
	}
	s, err := SpecsSide(repo, rev, r.specs())
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// risks lists a report's risks as "name cluster object-or-Kustomization",
// sorted, for comparing with cmp.Diff.
func risks(r *Report) []string {
	var out []string
	for _, k := range r.Risks {
		what := k.Object
		if what == "" {
			what = k.Kustomization
		}
		out = append(out, k.Name+" "+k.Cluster+" "+what)
	}
	sort.Strings(out)
	return out
}

func wantRisks(t *testing.T, r *Report, want ...string) {
	t.Helper()
	sort.Strings(want)
	if diff := cmp.Diff(want, risks(r)); diff != "" {
		t.Errorf("risks (-want +got):\n%s\nmessages:\n%s", diff, messages(r))
	}
}

func messages(r *Report) string {
	var b strings.Builder
	for _, k := range r.Risks {
		b.WriteString("  " + k.Name + ": " + k.Message + "\n")
	}
	return b.String()
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", p, diff)
	}
}

func writeFile(t *testing.T, root, path, data string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func markdown(t *testing.T, r *Report) string {
	t.Helper()
	var b strings.Builder
	if err := WriteReport(&b, r, "markdown", 0); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// editObject applies fn to the object kind/name in a multi-document YAML
// file of the repository, whatever the file's layout.
func (r *fleetRepo) editObject(path, kind, name string, fn func(obj map[string]any)) {
	r.t.Helper()
	p := filepath.Join(r.dir, filepath.FromSlash(path))
	data, err := os.ReadFile(p)
	if err != nil {
		r.t.Fatal(err)
	}
	docs := strings.Split(string(data), "\n---\n")
	found := false
	for i, d := range docs {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(d), &obj); err != nil {
			r.t.Fatalf("%s: %v", path, err)
		}
		md, _ := obj["metadata"].(map[string]any)
		if obj["kind"] != kind || (name != "" && md["name"] != name) {
			continue
		}
		fn(obj)
		out, err := yaml.Marshal(obj)
		if err != nil {
			r.t.Fatal(err)
		}
		docs[i] = strings.TrimSuffix(string(out), "\n")
		found = true
	}
	if !found {
		r.t.Fatalf("%s has no %s %s", path, kind, name)
	}
	// The header stays, so that the file is still fleiogen's.
	if err := os.WriteFile(p, []byte(generator.Header+strings.Join(docs, "\n---\n")+"\n"), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// field returns the map at a path of obj, creating it as needed.
func field(obj map[string]any, path ...string) map[string]any {
	cur := obj
	for _, f := range path {
		next, _ := cur[f].(map[string]any)
		if next == nil {
			next = map[string]any{}
			cur[f] = next
		}
		cur = next
	}
	return cur
}
