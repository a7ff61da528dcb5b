package generator

import (
	"bytes"
	"fmt"
	"path/filepath"

	yaml "go.yaml.in/yaml/v3"
)

// BootstrapWarnings compares the branch each cluster's Flux was
// bootstrapped from, as flux bootstrap recorded it in
// clusters/<cluster>/flux-system/gotk-sync.yaml under root, with the
// branch the Fleet says the cluster tracks. A cluster bootstrapped from
// another branch applies that branch's clusters/, tenants/ and stages:
// production bootstrapped from main would take changes before promotion.
// A missing or unreadable file is not a problem: bootstrap may not have
// run, or may have written elsewhere. fleiogen only reads these files.
func BootstrapWarnings(root string, m *Model) []string {
	var out []string
	for _, c := range m.Clusters {
		rel := "clusters/" + c.Name + "/flux-system/gotk-sync.yaml"
		data, err := ReadRegularFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			continue
		}
		branch, line, ok := bootstrapBranch(data)
		if !ok || branch == c.Branch {
			continue
		}
		out = append(out, fmt.Sprintf("%s:%d: spec.ref.branch: cluster %s was bootstrapped from branch %q, but the Fleet says it tracks %q, so it applies %q's tenants and stages and takes their changes before promotion; bootstrap it again with --branch=%s --path=clusters/%s",
			rel, line, c.Name, branch, c.Branch, branch, c.Branch, c.Name))
	}
	return out
}

// bootstrapBranch finds the GitRepository flux-system/flux-system in a
// multi-document file and returns its spec.ref.branch and that line.
func bootstrapBranch(data []byte) (branch string, line int, ok bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return "", 0, false // the end, or not YAML flux would read
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if scalar(mapValue(root, "kind")) != "GitRepository" ||
			scalar(mapValue(mapValue(root, "metadata"), "name")) != "flux-system" ||
			scalar(mapValue(mapValue(root, "metadata"), "namespace")) != "flux-system" {
			continue
		}
		b := mapValue(mapValue(mapValue(root, "spec"), "ref"), "branch")
		if b == nil || b.Kind != yaml.ScalarNode {
			return "", 0, false // a tag, a commit or semver: not a branch
		}
		return b.Value, b.Line, true
	}
}

// mapValue is the value of key in mapping n, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// scalar is a scalar node's value, or "".
func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}
