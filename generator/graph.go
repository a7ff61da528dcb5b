package generator

import (
	"fmt"
	"strings"
)

// GraphNode is one Flux Kustomization of a cluster.
type GraphNode struct {
	// ID is namespace/name.
	ID        string
	Namespace string
	Name      string
	// Group is "platform", "tenants" or the tenant namespace of a stage.
	Group string
}

// Graph is the dependency graph of a cluster's Kustomizations; an edge
// [a, b] means b dependsOn a, so a is applied first.
type Graph struct {
	Cluster string
	Nodes   []GraphNode
	Edges   [][2]string
}

// ClusterGraph builds the dependency graph of cluster c in apply order.
func ClusterGraph(c *ClusterModel) *Graph {
	g := &Graph{Cluster: c.Name}
	add := func(ns, name, group string) string {
		id := ns + "/" + name
		g.Nodes = append(g.Nodes, GraphNode{ID: id, Namespace: ns, Name: name, Group: group})
		return id
	}
	root := add(FluxSystem, FluxSystem, "platform")
	prev := root
	if c.CertManager == CertManagerInstall {
		cm := add(FluxSystem, PlatformCertManager, "platform")
		g.Edges = append(g.Edges, [2]string{root, cm})
		prev = cm
	}
	issuers := add(FluxSystem, PlatformIssuers, "platform")
	g.Edges = append(g.Edges, [2]string{prev, issuers})
	byNS := map[string][]*Deployment{}
	for _, d := range c.Deployments {
		byNS[d.Namespace] = append(byNS[d.Namespace], d)
	}
	for _, ns := range c.Tenants {
		t := add(FluxSystem, TenantKustomization(ns), "tenants")
		g.Edges = append(g.Edges, [2]string{issuers, t})
		for _, d := range byNS[ns] {
			prev := t
			for _, stage := range Stages {
				id := add(ns, StageKustomization(d.Name, stage), ns)
				g.Edges = append(g.Edges, [2]string{prev, id})
				prev = id
			}
		}
	}
	return g
}

func mermaidID(id string) string {
	return strings.NewReplacer("/", "__", "-", "_").Replace(id)
}

// Mermaid renders the graph as a Mermaid flowchart, tenants as subgraphs.
// Edges out of flux-system/flux-system and tenant Kustomizations mean
// "applies"; the others mean "dependsOn".
func (g *Graph) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	var groups []string
	seen := map[string]bool{}
	for _, n := range g.Nodes {
		if !seen[n.Group] {
			seen[n.Group] = true
			groups = append(groups, n.Group)
		}
	}
	for _, grp := range groups {
		fmt.Fprintf(&b, "  subgraph %s[\"%s\"]\n", mermaidID("g/"+grp), grp)
		for _, n := range g.Nodes {
			if n.Group == grp {
				fmt.Fprintf(&b, "    %s[\"%s\"]\n", mermaidID(n.ID), n.Name)
			}
		}
		b.WriteString("  end\n")
	}
	for _, e := range g.Edges {
		fmt.Fprintf(&b, "  %s --> %s\n", mermaidID(e[0]), mermaidID(e[1]))
	}
	return b.String()
}

// DOT renders the graph in Graphviz DOT.
func (g *Graph) DOT() string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n  rankdir=LR;\n  node [shape=box];\n", g.Cluster)
	var groups []string
	seen := map[string]bool{}
	for _, n := range g.Nodes {
		if !seen[n.Group] {
			seen[n.Group] = true
			groups = append(groups, n.Group)
		}
	}
	for i, grp := range groups {
		fmt.Fprintf(&b, "  subgraph cluster_%d {\n    label=%q;\n", i, grp)
		for _, n := range g.Nodes {
			if n.Group == grp {
				fmt.Fprintf(&b, "    %q [label=%q];\n", n.ID, n.Name)
			}
		}
		b.WriteString("  }\n")
	}
	for _, e := range g.Edges {
		fmt.Fprintf(&b, "  %q -> %q;\n", e[0], e[1])
	}
	b.WriteString("}\n")
	return b.String()
}

// ClusterReadme is clusters/<cluster>/README.md: what the cluster runs and
// the order Flux applies it in.
func ClusterReadme(m *Model, c *ClusterModel) string {
	var b strings.Builder
	b.WriteString(MarkdownHeader)
	fmt.Fprintf(&b, "# Cluster %s\n\n", c.Name)
	fmt.Fprintf(&b, "Environment `%s`, branch `%s`, domain `%s`.\n\n", c.Environment, c.Branch, c.Domain)
	b.WriteString("`flux bootstrap` owns `flux-system/`; everything else here is rendered by fleiogen from the specs.\n\n")
	if len(c.Deployments) > 0 {
		b.WriteString("| FleioDeployment | release | host |\n|---|---|---|\n")
		for _, d := range c.Deployments {
			fmt.Fprintf(&b, "| %s/%s | %s | %s |\n", d.Namespace, d.Name, d.Release, c.Env.Host(d, c.Domain))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Rollout order\n\nAn arrow points from a Kustomization to one that waits for it (`dependsOn`) or that it applies.\n\n```mermaid\n")
	b.WriteString(ClusterGraph(c).Mermaid())
	b.WriteString("```\n")
	return b.String()
}
