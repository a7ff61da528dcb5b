package generator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// TestReadmeFleetExampleValidates: the Fleet that README.md shows, with
// every field, is valid next to the example's FleioDeployments, so a user
// who starts from it starts from specs fleiogen accepts.
func TestReadmeFleetExampleValidates(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	i := strings.Index(text, "kind: Fleet\n")
	if i < 0 {
		t.Fatal("README.md shows no Fleet")
	}
	start := strings.LastIndex(text[:i], "```yaml\n")
	end := strings.Index(text[i:], "```")
	if start < 0 || end < 0 {
		t.Fatal("README.md's Fleet is not in a ```yaml block")
	}
	fsys := fstest.MapFS{"fleet.yaml": {Data: []byte(text[start+len("```yaml\n") : i+end])}}
	for _, f := range []string{"billing/fleio.yaml", "hosting/fleio.yaml"} {
		data, err := os.ReadFile(filepath.Join(repoRoot, "examples", "fleet", f))
		if err != nil {
			t.Fatal(err)
		}
		fsys[f] = &fstest.MapFile{Data: data}
	}
	specs, err := Load(fsys, "README.md")
	if err != nil {
		t.Fatalf("README.md's Fleet does not load:\n%v", err)
	}
	if _, err := Validate(specs); err != nil {
		t.Errorf("README.md's Fleet, with examples/fleet's deployments, is refused:\n%v", err)
	}
}
