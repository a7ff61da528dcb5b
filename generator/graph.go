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
	// Group is "platform", "tenants" or "tenant <namespace>" for the
	// stages of a tenant namespace (a space never occurs in a namespace,
	// so a tenant named "platform" gets its own group).
	Group string
}

// GraphEdge says that To is applied after From: either To dependsOn From,
// or From is the Kustomization whose path holds To (it applies To).
type GraphEdge struct {
	From, To  string
	DependsOn bool
}

// Graph is the dependency graph of a cluster's Kustomizations, nodes in
// apply order.
type Graph struct {
	Cluster string
	Nodes   []GraphNode
	Edges   []GraphEdge
}

// ClusterGraph builds the dependency graph of cluster c in apply order.
func ClusterGraph(c *ClusterModel) *Graph {
	g := &Graph{Cluster: c.Name}
	add := func(ns, name, group string) string {
		id := ns + "/" + name
		g.Nodes = append(g.Nodes, GraphNode{ID: id, Namespace: ns, Name: name, Group: group})
		return id
	}
	edge := func(from, to string, dependsOn bool) {
		g.Edges = append(g.Edges, GraphEdge{From: from, To: to, DependsOn: dependsOn})
	}
	root := add(FluxSystem, FluxSystem, "platform")
	if len(c.Deployments) == 0 && c.CertManager != CertManagerInstall {
		return g
	}
	var cm string
	if c.CertManager == CertManagerInstall {
		cm = add(FluxSystem, PlatformCertManager, "platform")
		edge(root, cm, false)
	}
	if len(c.Deployments) == 0 {
		return g
	}
	issuers := add(FluxSystem, PlatformIssuers, "platform")
	if cm != "" {
		edge(cm, issuers, true)
	} else {
		edge(root, issuers, false)
	}
	byNS := map[string][]*Deployment{}
	for _, d := range c.Deployments {
		byNS[d.Namespace] = append(byNS[d.Namespace], d)
	}
	for _, ns := range c.Tenants {
		t := add(FluxSystem, TenantKustomization(ns), "tenants")
		edge(issuers, t, true)
		for _, d := range byNS[ns] {
			prev := ""
			for _, stage := range Stages {
				id := add(ns, StageKustomization(d.Name, stage), "tenant "+ns)
				if prev == "" {
					edge(t, id, false)
				} else {
					edge(prev, id, true)
				}
				prev = id
			}
		}
	}
	return g
}

// groups returns the groups in the order of their first node, each with
// its nodes in graph order.
func (g *Graph) groups() (names []string, nodes [][]GraphNode) {
	index := map[string]int{}
	for _, n := range g.Nodes {
		i, ok := index[n.Group]
		if !ok {
			i = len(names)
			index[n.Group] = i
			names = append(names, n.Group)
			nodes = append(nodes, nil)
		}
		nodes[i] = append(nodes[i], n)
	}
	return names, nodes
}

// mermaidID is id ("namespace/name", both lower-case DNS names) as a
// Mermaid node ID: "/" becomes "__", a "-" becomes "_", and a "-" right
// after another becomes "D" (upper case, which no DNS name holds), so
// that "a--b/c" (a_Db__c) and "a/b--c" (a__b_Dc) stay two nodes.
func mermaidID(id string) string {
	b := make([]byte, 0, len(id)+1)
	for i := 0; i < len(id); i++ {
		switch {
		case id[i] == '/':
			b = append(b, '_', '_')
		case id[i] == '-' && i > 0 && id[i-1] == '-':
			b = append(b, 'D')
		case id[i] == '-':
			b = append(b, '_')
		default:
			b = append(b, id[i])
		}
	}
	return string(b)
}

// Mermaid renders the graph as a Mermaid flowchart, each group a subgraph.
// A solid arrow is dependsOn; a dotted arrow means "applies".
func (g *Graph) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	// Each ID is converted once: a large cluster's graph has thousands of
	// nodes, and each edge names two.
	ids := make(map[string]string, len(g.Nodes))
	for _, n := range g.Nodes {
		ids[n.ID] = mermaidID(n.ID)
	}
	mid := func(id string) string {
		if m, ok := ids[id]; ok {
			return m
		}
		return mermaidID(id)
	}
	names, nodes := g.groups()
	for i, grp := range names {
		fmt.Fprintf(&b, "  subgraph group%d[\"%s\"]\n", i, grp)
		for _, n := range nodes[i] {
			b.WriteString("    ")
			b.WriteString(ids[n.ID])
			b.WriteString(`["`)
			b.WriteString(n.Name)
			b.WriteString("\"]\n")
		}
		b.WriteString("  end\n")
	}
	for _, e := range g.Edges {
		arrow := "-.->"
		if e.DependsOn {
			arrow = "-->"
		}
		b.WriteString("  ")
		b.WriteString(mid(e.From))
		b.WriteString(" " + arrow + " ")
		b.WriteString(mid(e.To))
		b.WriteByte('\n')
	}
	return b.String()
}

// DOT renders the graph in Graphviz DOT; "applies" edges are dashed.
func (g *Graph) DOT() string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n  rankdir=LR;\n  node [shape=box];\n", g.Cluster)
	names, nodes := g.groups()
	for i, grp := range names {
		fmt.Fprintf(&b, "  subgraph cluster_%d {\n    label=%q;\n", i, grp)
		for _, n := range nodes[i] {
			fmt.Fprintf(&b, "    %q [label=%q];\n", n.ID, n.Name)
		}
		b.WriteString("  }\n")
	}
	for _, e := range g.Edges {
		style := " [style=dashed]"
		if e.DependsOn {
			style = ""
		}
		fmt.Fprintf(&b, "  %q -> %q%s;\n", e.From, e.To, style)
	}
	b.WriteString("}\n")
	return b.String()
}

// ClusterReadme is clusters/<cluster>/README.md: what the cluster runs and
// the order Flux applies it in.
func ClusterReadme(m *Model, c *ClusterModel) string {
	var b strings.Builder
	b.Grow(4096 + 128*len(c.Deployments))
	b.WriteString(MarkdownHeader)
	fmt.Fprintf(&b, "# Cluster %s\n\n", c.Name)
	fmt.Fprintf(&b, "Environment `%s`, branch `%s`, domain `%s`.\n\n", c.Environment, c.Branch, c.Domain)
	b.WriteString("`flux bootstrap` owns `flux-system/`; everything else here is rendered by fleiogen from the specs.\n\n")
	fmt.Fprintf(&b, "Bootstrap Flux on this cluster from branch `%s`, so that everything it applies, these files included, comes from that branch and a change reaches it only when merged there:\n\n", c.Branch)
	// bootstrap pushes to the repository: it needs credentials with write
	// access even where Flux then reads it anonymously. Without
	// --token-auth, flux bootstrap git turns an http(s) URL into ssh:// and
	// makes a deploy key; an http:// URL also needs --allow-insecure-http.
	auth := ` --private-key-file=<path/to/private.key>`
	switch {
	case strings.HasPrefix(m.Repository.URL, "http://"):
		auth = ` --allow-insecure-http=true --token-auth=true --username=git --password="$GIT_TOKEN"`
	case !strings.HasPrefix(m.Repository.URL, "ssh://"):
		auth = ` --token-auth=true --username=git --password="$GIT_TOKEN"`
	}
	fmt.Fprintf(&b, "```sh\nflux bootstrap git --url=%s --branch=%s --path=clusters/%s%s\n```\n\n", m.Repository.URL, c.Branch, c.Name, auth)
	b.WriteString("Then commit the multi-tenancy lockdown patches (fleiogen's README) to `flux-system/kustomization.yaml`: without them, a Kustomization added to a tenant namespace that names no service account runs with kustomize-controller's cluster-admin rights, and may read other namespaces' sources.\n\n")
	if len(c.Deployments) > 0 {
		b.WriteString("| FleioDeployment | release | host |\n|---|---|---|\n")
		for _, d := range c.Deployments {
			fmt.Fprintf(&b, "| %s/%s | %s | %s |\n", d.Namespace, d.Name, d.Release, c.Env.Host(d, c.Domain))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Rollout order\n\n")
	g := ClusterGraph(c)
	var mermaid string
	if len(g.Edges) <= mermaidMaxEdges {
		mermaid = g.Mermaid()
	}
	if mermaid == "" || len(mermaid) > mermaidMaxTextSize {
		// Mermaid (GitHub's and GitLab's renderer) shows an error instead of
		// a graph this large, and building it is most of a large cluster's
		// render.
		over := fmt.Sprintf("has %d arrows, over the %d", len(g.Edges), mermaidMaxEdges)
		if mermaid != "" {
			over = fmt.Sprintf("takes %d characters of Mermaid, over the %d", len(mermaid), mermaidMaxTextSize)
		}
		fmt.Fprintf(&b, "The graph of this cluster's %d Kustomizations %s Mermaid draws by default, so it is not drawn here. Each FleioDeployment's stages are applied by its tenant's Kustomization and wait for one another in the order %s. Draw the whole graph with Graphviz:\n\n",
			len(g.Nodes), over, strings.Join(Stages, " → "))
		fmt.Fprintf(&b, "```sh\nfleiogen graph --cluster %s -o dot SPECS | dot -Tsvg > %s.svg\n```\n", c.Name, c.Name)
		return b.String()
	}
	b.WriteString("A solid arrow points from a Kustomization to one that waits for it (`dependsOn`); a dotted arrow, to one that it applies.\n\n```mermaid\n")
	b.WriteString(mermaid)
	b.WriteString("```\n")
	return b.String()
}

// Mermaid's default limits, which GitHub and GitLab keep: a flowchart with
// more arrows or a longer text is shown as an error, not drawn.
const (
	mermaidMaxEdges    = 500
	mermaidMaxTextSize = 50000
)
