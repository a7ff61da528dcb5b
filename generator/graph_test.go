package generator

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestMermaidIDsAreDistinct: two Kustomizations are two nodes, however
// their namespaces and names split "--" and "/" between them, and every
// ID is one Mermaid reads as a plain node ID.
func TestMermaidIDsAreDistinct(t *testing.T) {
	parts := []string{"a", "b", "a-b", "a--b", "a---b", "b--a", "t", "t--fleio-q", "fleio-q--fleio-z-preflight", "fleio-z-preflight"}
	plain := regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	seen := map[string]string{}
	for _, ns := range parts {
		for _, name := range parts {
			id := ns + "/" + name
			m := mermaidID(id)
			if !plain.MatchString(m) {
				t.Errorf("mermaidID(%q) = %q, not a plain Mermaid ID", id, m)
			}
			if other, ok := seen[m]; ok {
				t.Errorf("mermaidID(%q) = mermaidID(%q) = %q", id, other, m)
			}
			seen[m] = id
		}
	}
}

// TestLargeClusterReadmeHasNoGraph: a cluster README draws its rollout
// graph only within Mermaid's default limits (GitHub shows an error
// instead of a larger one), says which limit the graph is over, and how to
// draw it otherwise. Short names reach the arrow limit, long ones the
// character limit first.
func TestLargeClusterReadmeHasNoGraph(t *testing.T) {
	m, _ := renderDir(t, "../examples/fleet")
	c := m.Clusters[0]
	if len(c.Deployments) == 0 {
		t.Fatalf("cluster %s runs no FleioDeployment", c.Name)
	}
	seen := map[string]int{}
	for _, name := range []string{"%d", "fleio-%05d", "fleio-customer-with-a-long-name-%05d"} {
		for n := 1; n <= 120; n++ {
			big := *c
			big.Deployments = nil
			for i := range n {
				d := *c.Deployments[i%len(c.Deployments)]
				d.Name = fmt.Sprintf(name, i)
				big.Deployments = append(big.Deployments, &d)
			}
			g := ClusterGraph(&big)
			text := g.Mermaid()
			readme := ClusterReadme(m, &big)
			var want string
			switch {
			case len(g.Edges) > mermaidMaxEdges:
				want = fmt.Sprintf("has %d arrows, over the 500 Mermaid draws", len(g.Edges))
			case len(text) > mermaidMaxTextSize:
				want = fmt.Sprintf("takes %d characters of Mermaid, over the 50000 Mermaid draws", len(text))
			default:
				want = "```mermaid\n" + text + "```\n"
			}
			if !strings.Contains(readme, want) {
				t.Fatalf("%d deployments named %q (%d arrows, %d characters): the README lacks %q", n, name, len(g.Edges), len(text), want)
			}
			hint := "fleiogen graph --cluster " + c.Name + " -o dot"
			if drawn := strings.Contains(readme, "```mermaid"); drawn == strings.Contains(readme, hint) {
				t.Fatalf("%d deployments named %q: a graph drawn %v, the Graphviz command given %v", n, name, drawn, !drawn)
			}
			seen[want[:5]]++
		}
	}
	for _, k := range []string{"```me", "has 5", "takes"} {
		if seen[k] == 0 {
			t.Errorf("no size gave %q...: the cases do not cover every branch (%v)", k, seen)
		}
	}
}
