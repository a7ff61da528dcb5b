package review

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Formats are the report formats WriteReport knows.
var Formats = []string{"text", "markdown", "json"}

// MarkdownLimit is the default size limit of a Markdown report: GitHub
// refuses comments over 65536 characters.
const MarkdownLimit = 60000

// WriteReport writes r in format (text, markdown or json). limit bounds a
// Markdown report's size (0: MarkdownLimit): diffs that do not fit are left
// out with a note, the tables and risks never are.
func WriteReport(w io.Writer, r *Report, format string, limit int) error {
	var s string
	switch format {
	case "text":
		s = r.text()
	case "markdown":
		if limit <= 0 {
			limit = MarkdownLimit
		}
		s = r.markdown(limit)
	case "json":
		b, err := json.MarshalIndent(r.withEmptyLists(), "", "  ")
		if err != nil {
			return err
		}
		s = string(b) + "\n"
	default:
		return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
	}
	_, err := io.WriteString(w, s)
	return err
}

// withEmptyLists returns a copy of r whose lists are empty rather than
// nil, so that JSON readers get [] and never null.
func (r *Report) withEmptyLists() *Report {
	out := *r
	if out.Risks == nil {
		out.Risks = []Risk{}
	}
	out.Clusters = make([]*ClusterDiff, len(r.Clusters))
	for i, c := range r.Clusters {
		cc := *c
		cc.Kustomizations = append([]*KustomizationDiff{}, c.Kustomizations...)
		for j, k := range cc.Kustomizations {
			if k.Objects == nil {
				kk := *k
				kk.Objects = []*ObjectDiff{}
				cc.Kustomizations[j] = &kk
			}
		}
		out.Clusters[i] = &cc
	}
	return &out
}

// counts summarises a Kustomization's changes as "1 added, 2 modified".
func counts(k *KustomizationDiff) string {
	var parts []string
	for _, c := range []Change{Added, Modified, Moved, Deleted, Orphaned} {
		if n := k.Count(c); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, c))
		}
	}
	if len(k.Restarts) > 0 {
		parts = append(parts, fmt.Sprintf("%d restarted", len(k.Restarts)))
	}
	return strings.Join(parts, ", ")
}

func (c *ClusterDiff) describe() string {
	var parts []string
	if c.Environment != "" {
		parts = append(parts, c.Environment)
	}
	if c.Branch != "" {
		parts = append(parts, "branch "+c.Branch)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func (c *ClusterDiff) status() string {
	switch {
	case c.Removed:
		return "removed from the fleet: flux bootstrap's clusters/" + c.Name + "/flux-system stays in git, so Flux on it prunes what fleiogen applied there (protected objects stay)"
	case c.Added:
		return fmt.Sprintf("new cluster: %d Kustomizations to apply after flux bootstrap", len(c.Kustomizations))
	case len(c.Kustomizations) == 0:
		return "no changes"
	case len(c.Kustomizations) == 1:
		return "1 Kustomization changes"
	}
	return fmt.Sprintf("%d Kustomizations change", len(c.Kustomizations))
}

func (r *Report) risksOf(cluster, ks string) []string {
	var names []string
	for _, k := range r.Risks {
		if k.Cluster == cluster && k.Kustomization == ks && !slices.Contains(names, k.Name) {
			names = append(names, k.Name)
		}
	}
	return names
}

func objectLine(o *ObjectDiff) string {
	s := fmt.Sprintf("%s %s", o.Change, o.Object)
	switch {
	case o.Note != "":
		s += ": " + o.Note
	case len(o.Fields) > 0:
		s += ": " + strings.Join(o.Fields, ", ")
	}
	return s
}

func (r *Report) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fleiogen diff: %s -> %s\n", r.Base, r.Head)
	if r.Main != "" {
		fmt.Fprintf(&b, "changes checked against main: %s\n", r.Main)
	}
	if len(r.Risks) > 0 {
		fmt.Fprintf(&b, "\nrisks (%d):\n", len(r.Risks))
		for _, k := range r.Risks {
			fmt.Fprintf(&b, "  %s: %s %s", k.Name, k.Cluster, k.Kustomization)
			if k.Object != "" {
				fmt.Fprintf(&b, " %s", k.Object)
			}
			fmt.Fprintf(&b, ": %s\n", k.Message)
		}
	}
	b.WriteString("\n")
	for _, c := range r.Clusters {
		fmt.Fprintf(&b, "cluster %s%s: %s\n", c.Name, c.describe(), c.status())
		for _, k := range c.Kustomizations {
			fmt.Fprintf(&b, "  %s (%s): %s\n", k.ID, k.Change, counts(k))
			for _, o := range k.Objects {
				fmt.Fprintf(&b, "    %s\n", objectLine(o))
			}
			if len(k.Restarts) > 0 {
				fmt.Fprintf(&b, "    pods restart (settings changed): %s\n", strings.Join(k.Restarts, ", "))
			}
		}
	}
	for _, c := range r.Clusters {
		for _, k := range c.Kustomizations {
			for _, o := range k.Objects {
				fmt.Fprintf(&b, "\n=== %s %s: %s %s\n%s", c.Name, k.ID, o.Change, o.Object, o.Diff)
			}
		}
	}
	return b.String()
}

// MarkdownMarker starts every Markdown report, so that CI can find and
// update its previous comment.
const MarkdownMarker = "<!-- fleiogen-diff -->"

// mdCell escapes text for a Markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// code wraps s in backticks that cannot clash with backticks in s.
func code(s string) string {
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return fence + pad + s + pad + fence
}

// fenced wraps a diff in a code block whose fence is longer than any run of
// backticks in it.
func fenced(lang, body string) string {
	fence := "```"
	for strings.Contains(body, fence) {
		fence += "`"
	}
	return fence + lang + "\n" + body + fence + "\n"
}

// maxRows bounds each Markdown table, so that the report's size does not
// grow with the fleet's: the risks, and per cluster the Kustomizations and
// the objects.
const maxRows = 40

func (r *Report) markdown(limit int) string {
	skeleton := r.markdownWith(-1)
	return r.markdownWith(limit - len(skeleton))
}

// markdownWith renders the report with at most budget bytes of diffs; a
// negative budget leaves every diff out.
func (r *Report) markdownWith(budget int) string {
	var b strings.Builder
	b.WriteString(MarkdownMarker + "\n## fleiogen diff\n\n")
	fmt.Fprintf(&b, "Base %s, head %s.", code(r.Base), code(r.Head))
	if r.Main != "" {
		fmt.Fprintf(&b, " Changes checked against main %s.", code(r.Main))
	}
	b.WriteString("\n\n")
	var summary []string
	for _, c := range r.Clusters {
		summary = append(summary, fmt.Sprintf("**%s**: %s", c.Name, c.status()))
	}
	if len(summary) == 0 {
		summary = append(summary, "no clusters")
	}
	risks := "no risks"
	if n := len(r.Risks); n == 1 {
		risks = "**1 risk**"
	} else if n > 1 {
		risks = fmt.Sprintf("**%d risks**", n)
	}
	b.WriteString(strings.Join(summary, " · ") + " · " + risks + "\n\n")

	if len(r.Risks) > 0 {
		b.WriteString("### :warning: Risks\n\n")
		var byName []string
		for _, info := range Risks {
			n := 0
			for _, k := range r.Risks {
				if k.Name == info.Name {
					n++
				}
			}
			if n > 0 {
				byName = append(byName, fmt.Sprintf("%s ×%d", code(info.Name), n))
			}
		}
		b.WriteString(strings.Join(byName, ", ") + "\n\n")
		b.WriteString("| risk | cluster | Kustomization | object | what happens |\n|---|---|---|---|---|\n")
		for i, k := range r.Risks {
			if i == maxRows {
				fmt.Fprintf(&b, "\n…and %d more risks: run `fleiogen diff -o text` for all of them.\n", len(r.Risks)-maxRows)
				break
			}
			obj := ""
			if k.Object != "" {
				obj = code(k.Object)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", code(k.Name), mdCell(k.Cluster), code(k.Kustomization), obj, mdCell(k.Message))
		}
		b.WriteString("\n")
	}

	omitted := 0
	for _, c := range r.Clusters {
		fmt.Fprintf(&b, "### Cluster %s%s\n\n", code(c.Name), c.describe())
		if !c.Changed() || c.Removed {
			fmt.Fprintf(&b, "%s.\n\n", capitalise(c.status()))
			continue
		}
		if c.Added {
			fmt.Fprintf(&b, "%s.\n\n", capitalise(c.status()))
		}
		b.WriteString("| Kustomization | added | modified | moved | deleted | orphaned | pods restarted | risks |\n|---|--:|--:|--:|--:|--:|--:|---|\n")
		for i, k := range c.Kustomizations {
			if i == maxRows {
				fmt.Fprintf(&b, "| …and %d more Kustomizations | | | | | | | |\n", len(c.Kustomizations)-maxRows)
				break
			}
			id := code(k.ID)
			if k.Change != Modified {
				id += " (" + string(k.Change) + ")"
			}
			var rs []string
			for _, n := range r.risksOf(c.Name, k.ID) {
				rs = append(rs, code(n))
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", id, num(k.Count(Added)), num(k.Count(Modified)), num(k.Count(Moved)), num(k.Count(Deleted)), num(k.Count(Orphaned)), num(len(k.Restarts)), strings.Join(rs, " "))
		}
		b.WriteString("\n")
		rows, total := 0, 0
		for _, k := range c.Kustomizations {
			total += len(k.Objects)
		}
		if total > 0 {
			b.WriteString("| change | object | Kustomization | what |\n|---|---|---|---|\n")
			for _, k := range c.Kustomizations {
				for _, o := range k.Objects {
					if rows == maxRows {
						break
					}
					rows++
					what := o.Note
					if what == "" && len(o.Fields) > 0 {
						var fs []string
						for _, f := range o.Fields {
							fs = append(fs, code(f))
						}
						what = strings.Join(fs, ", ")
					}
					fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", o.Change, code(o.Object), code(k.ID), mdCell(what))
				}
			}
			if total > rows {
				fmt.Fprintf(&b, "\n…and %d more objects (see the diffs).\n", total-rows)
			}
			b.WriteString("\n")
		}
		var restarts []string
		for _, k := range c.Kustomizations {
			for _, w := range k.Restarts {
				restarts = append(restarts, code(w))
			}
		}
		if len(restarts) > 0 {
			fmt.Fprintf(&b, "Pods restart because their settings changed: %s.\n\n", strings.Join(restarts, ", "))
		}
		if total == 0 {
			continue
		}
		fmt.Fprintf(&b, "<details><summary>Diffs on %s (%d objects)</summary>\n\n", c.Name, total)
		left := 0
		for _, k := range c.Kustomizations {
			for _, o := range k.Objects {
				block := fmt.Sprintf("%s %s in %s\n\n%s\n", o.Change, code(o.Object), code(k.ID), fenced("diff", o.Diff))
				if len(block) > budget {
					left++
					continue
				}
				budget -= len(block)
				b.WriteString(block)
			}
		}
		if left > 0 {
			fmt.Fprintf(&b, "%d diffs on %s left out to keep this comment small.\n\n", left, c.Name)
			omitted += left
		}
		b.WriteString("</details>\n\n")
	}
	if omitted > 0 {
		fmt.Fprintf(&b, "%d diffs were left out; run `fleiogen diff` locally for all of them.\n", omitted)
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// num writes a count for a table, leaving zeros out.
func num(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
