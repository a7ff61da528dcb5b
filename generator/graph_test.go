package generator

import (
	"regexp"
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
