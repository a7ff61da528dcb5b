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
// instead of a larger one), and says how to draw it otherwise.
func TestLargeClusterReadmeHasNoGraph(t *testing.T) {
	m, _ := renderDir(t, "../examples/fleet")
	c := m.Clusters[0]
	if len(c.Deployments) == 0 {
		t.Fatalf("cluster %s runs no FleioDeployment", c.Name)
	}
	drawn, notDrawn := 0, 0
	for _, n := range []int{1, 20, 90, 99, 100, 101, 150, 1000} {
		big := *c
		big.Deployments = nil
		for i := range n {
			d := *c.Deployments[i%len(c.Deployments)]
			d.Name = fmt.Sprintf("fleio-%05d", i)
			big.Deployments = append(big.Deployments, &d)
		}
		g := ClusterGraph(&big)
		fits := len(g.Edges) <= mermaidMaxEdges && len(g.Mermaid()) <= mermaidMaxTextSize
		readme := ClusterReadme(m, &big)
		hasGraph := strings.Contains(readme, "```mermaid\n"+g.Mermaid()+"```\n")
		hint := "fleiogen graph --cluster " + c.Name + " -o dot"
		switch {
		case fits && !hasGraph:
			t.Errorf("%d deployments, %d arrows: the README does not draw the graph", n, len(g.Edges))
		case !fits && (strings.Contains(readme, "```mermaid") || !strings.Contains(readme, hint)):
			t.Errorf("%d deployments, %d arrows: the README draws a graph Mermaid refuses, or lacks %q", n, len(g.Edges), hint)
		}
		if fits {
			drawn++
		} else {
			notDrawn++
		}
	}
	if drawn == 0 || notDrawn == 0 {
		t.Errorf("%d sizes drawn, %d not: the sizes do not cross the limit", drawn, notDrawn)
	}
}
