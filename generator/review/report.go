package review

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Formats are the report formats WriteReport knows.
var Formats = []string{"text", "markdown", "json"}

// MarkdownLimit is the default largest size of a Markdown report, in
// bytes. GitHub refuses comments over 65536 characters; a character is at
// least one byte, so a report within the limit fits with room to spare.
const MarkdownLimit = 60000

// MinMarkdownLimit is the smallest Markdown size limit: room for the first
// lines, the note on what was left out and a few risks.
const MinMarkdownLimit = 1000

// WriteReport writes r in format (text, markdown or json). limit bounds a
// Markdown report's size in bytes (0: MarkdownLimit; below
// MinMarkdownLimit, an error): what does not fit is left out, least
// important first, and a note says what; the text and JSON reports are
// never shortened.
func WriteReport(w io.Writer, r *Report, format string, limit int) error {
	var s string
	switch format {
	case "text":
		s = r.text()
	case "markdown":
		if limit == 0 {
			limit = MarkdownLimit
		}
		if limit < MinMarkdownLimit {
			return fmt.Errorf("markdown size limit %d: the smallest is %d bytes", limit, MinMarkdownLimit)
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

// LimitFlag is the value of a --max-size flag (a pflag.Value): a Markdown
// size limit in bytes, refused below MinMarkdownLimit.
type LimitFlag int

// NewLimitFlag returns the flag value kept in *p, and sets *p to the
// default, MarkdownLimit.
func NewLimitFlag(p *int) *LimitFlag {
	*p = MarkdownLimit
	return (*LimitFlag)(p)
}

func (f *LimitFlag) String() string { return strconv.Itoa(int(*f)) }

// Type names the value in the flag's help.
func (f *LimitFlag) Type() string { return "bytes" }

// Set parses a limit, refusing one below MinMarkdownLimit.
func (f *LimitFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not a whole number of bytes")
	}
	if n < MinMarkdownLimit {
		return fmt.Errorf("%d bytes is below the smallest Markdown report, %d bytes", n, MinMarkdownLimit)
	}
	*f = LimitFlag(n)
	return nil
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

// mdCell escapes text for a Markdown table cell: the text may hold what
// a spec wrote (a setting's key in a risk message), which must not become
// a link, an image, emphasis or HTML in a pull-request comment. Code spans
// (`...`, which fleiogen's own texts use) are kept as they are: Markdown
// shows them literally, and an escape inside one would show too.
func mdCell(s string) string {
	s = strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	var b strings.Builder
	for s != "" {
		i := strings.IndexByte(s, '`')
		if i < 0 {
			b.WriteString(mdEscaper.Replace(s))
			break
		}
		b.WriteString(mdEscaper.Replace(s[:i]))
		run := len(s[i:]) - len(strings.TrimLeft(s[i:], "`"))
		fence := s[i : i+run]
		end := strings.Index(s[i+run:], fence)
		if end < 0 { // no closing run: the backticks are text
			b.WriteString(strings.Repeat("\\`", run))
			s = s[i+run:]
			continue
		}
		span := s[i : i+run+end+run]
		b.WriteString(strings.ReplaceAll(span, "|", `\|`)) // a pipe ends a cell even in a code span
		s = s[i+run+end+run:]
	}
	return b.String()
}

var mdEscaper = strings.NewReplacer("|", `\|`, "&", "&amp;", "<", "&lt;", ">", "&gt;",
	`\`, `\\`, "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "!", `\!`, "~", `\~`)

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
// grow with the fleet's: the risks, the clusters, and per cluster the
// Kustomizations and the objects.
const maxRows = 40

// maxLabel bounds the revision labels in a Markdown report's first lines.
const maxLabel = 80

// markdown renders the report in at most limit bytes (limit is at least
// MinMarkdownLimit). What is always there: the marker, the revisions, a
// summary line and, when anything is left out, a note that says what and
// how to see it. The rest gets the room that is left, in this order: the
// risks, each cluster's counts (its Kustomization table; when those do not
// all fit, one table with a row per cluster, then the sections that fit),
// the tables of changed objects, the workloads whose pods restart, and the
// diffs. Tables are cut row by row, diffs that do not fit are skipped
// (a smaller one further on may fit). The output depends on the report and
// the limit only.
func (r *Report) markdown(limit int) string {
	// Only changed clusters that are not removed get the detail: object
	// tables, restarting pods and diffs.
	detailed := func(c *ClusterDiff) bool { return c.Changed() && !c.Removed }
	var all mdOmitted
	all.allRisks, all.allClusters = len(r.Risks), len(r.Clusters)
	all.risks, all.hidden, all.sectionless, all.restarts = len(r.Risks), len(r.Clusters), len(r.Clusters), len(r.Clusters)
	for _, c := range r.Clusters {
		all.kustomizations += len(c.Kustomizations)
		for _, k := range c.Kustomizations {
			all.objects += len(k.Objects)
			if detailed(c) {
				all.allDiffs += len(k.Objects)
			}
		}
	}
	all.diffs = all.allDiffs
	// The note is charged at its longest, whether it is written or not:
	// every count in it is at most the one in all.
	header := r.mdHeader()
	room := limit - len(header) - len(all.note(limit))
	summary := r.mdSummary(room / 4)
	room -= len(summary)
	if room < 0 {
		return r.mdTooSmall(limit)
	}
	om := mdOmitted{allRisks: all.allRisks, allClusters: all.allClusters, allDiffs: all.allDiffs}

	risks, n := r.mdRisks(room)
	room -= len(risks)
	om.risks = n

	// Each cluster's counts: its section with the Kustomization table, or,
	// when the sections do not all fit, a row in one table of clusters.
	heads := make([]string, len(r.Clusters))
	kOmitted := make([]int, len(r.Clusters))
	sum := 0
	for i, c := range r.Clusters {
		heads[i], kOmitted[i] = r.mdClusterHead(c)
		sum += len(heads[i])
	}
	var clusters string
	shown, rows := len(r.Clusters), 0
	if sum > room {
		clusters, rows = r.mdClusterTable(room)
		room -= len(clusters)
		for i, h := range heads {
			if len(h) > room {
				shown = i
				break
			}
			room -= len(h)
		}
	} else {
		room -= sum
	}
	om.hidden = len(r.Clusters) - max(shown, rows)
	om.sectionless = max(rows-shown, 0)
	for _, n := range kOmitted[:shown] {
		om.kustomizations += n
	}

	// The detail of the clusters whose sections are in.
	objects := make([]string, shown)
	for i, c := range r.Clusters[:shown] {
		if !detailed(c) {
			continue
		}
		var left int
		objects[i], left = mdObjects(c, room)
		room -= len(objects[i])
		om.objects += left
	}
	restarts := make([]string, shown)
	for i, c := range r.Clusters[:shown] {
		var ws []string
		for _, k := range c.Kustomizations {
			for _, w := range k.Restarts {
				ws = append(ws, code(w))
			}
		}
		if len(ws) == 0 || !detailed(c) {
			continue
		}
		line := fmt.Sprintf("Pods restart because their settings changed: %s.\n\n", strings.Join(ws, ", "))
		if len(line) > room {
			om.restarts++
			continue
		}
		restarts[i] = line
		room -= len(line)
	}
	diffs := make([]string, shown)
	included := 0
	for i, c := range r.Clusters[:shown] {
		if !detailed(c) {
			continue
		}
		var s string
		s, n, room = mdDiffs(c, room)
		diffs[i] = s
		included += n
	}
	om.diffs = om.allDiffs - included

	var b strings.Builder
	b.WriteString(header)
	b.WriteString(summary)
	if om.any() {
		b.WriteString(om.note(limit))
	}
	b.WriteString(risks)
	b.WriteString(clusters)
	for i := range shown {
		b.WriteString(heads[i])
		b.WriteString(objects[i])
		b.WriteString(restarts[i])
		b.WriteString(diffs[i])
	}
	s := strings.TrimRight(b.String(), "\n") + "\n"
	if len(s) > limit {
		// Cannot happen: every part above was charged to room.
		return r.mdTooSmall(limit)
	}
	return s
}

// mdOmitted counts what a Markdown report leaves out.
type mdOmitted struct {
	risks          int // risks not in the table
	hidden         int // clusters without a section or a row in the table of clusters
	sectionless    int // clusters with a row in the table of clusters only
	kustomizations int // Kustomization rows left out of the sections shown
	objects        int // object rows left out of the sections shown
	restarts       int // sections shown without their restarting pods
	diffs          int // diffs left out, of every cluster

	allRisks, allClusters, allDiffs int
}

func (o *mdOmitted) any() bool {
	return o.risks+o.hidden+o.sectionless+o.kustomizations+o.objects+o.restarts+o.diffs > 0
}

// note says what the report leaves out and how to see all of it. It is
// never longer for smaller counts.
func (o *mdOmitted) note(limit int) string {
	var parts []string
	add := func(n int, format string, args ...any) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf(format, args...))
		}
	}
	add(o.risks, "%d of %d risks", o.risks, o.allRisks)
	add(o.hidden, "the counts and sections of %d of %d clusters", o.hidden, o.allClusters)
	add(o.sectionless, "the sections of %d of %d clusters (the Clusters table counts their changes)", o.sectionless, o.allClusters)
	add(o.kustomizations, "%d Kustomization rows", o.kustomizations)
	add(o.objects, "%d rows of changed objects", o.objects)
	clusters := "clusters"
	if o.restarts == 1 {
		clusters = "cluster"
	}
	add(o.restarts, "the restarting pods of %d %s", o.restarts, clusters)
	add(o.diffs, "%d of %d diffs", o.diffs, o.allDiffs)
	what := strings.Join(parts, ", ")
	if n := len(parts); n > 1 {
		what = strings.Join(parts[:n-1], ", ") + " and " + parts[n-1]
	}
	return fmt.Sprintf("> **This report is shortened** to fit %d bytes (`--max-size`) and %d rows a table. Left out: %s. "+
		"Run the same `fleiogen` command with `-o text` or `-o json` to see everything.\n\n", limit, maxRows, what)
}

// mdHeader is the marker, the title and the revisions compared.
func (r *Report) mdHeader() string {
	var b strings.Builder
	b.WriteString(MarkdownMarker + "\n## fleiogen diff\n\n")
	fmt.Fprintf(&b, "Base %s, head %s.", code(clip(r.Base, maxLabel)), code(clip(r.Head, maxLabel)))
	if r.Main != "" {
		fmt.Fprintf(&b, " Changes checked against main %s.", code(clip(r.Main, maxLabel)))
	}
	b.WriteString("\n\n")
	return b.String()
}

// mdSummary is one line: each cluster's status and the risk count, or,
// when that is longer than max, how many clusters are in each state.
func (r *Report) mdSummary(max int) string {
	risks := "no risks"
	if n := len(r.Risks); n == 1 {
		risks = "**1 risk**"
	} else if n > 1 {
		risks = fmt.Sprintf("**%d risks**", n)
	}
	var summary []string
	for _, c := range r.Clusters {
		summary = append(summary, fmt.Sprintf("**%s**: %s", c.Name, c.status()))
	}
	if len(summary) == 0 {
		summary = append(summary, "no clusters")
	}
	if s := strings.Join(summary, " · ") + " · " + risks + "\n\n"; len(s) <= max {
		return s
	}
	return r.mdCompactSummary(risks)
}

func (r *Report) mdCompactSummary(risks string) string {
	var changed, added, removed, same int
	for _, c := range r.Clusters {
		switch {
		case c.Added:
			added++
		case c.Removed:
			removed++
		case c.Changed():
			changed++
		default:
			same++
		}
	}
	var parts []string
	for _, p := range []struct {
		n    int
		what string
	}{{changed, "changed"}, {added, "new"}, {removed, "removed"}, {same, "unchanged"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	clusters := "1 cluster"
	if n := len(r.Clusters); n != 1 {
		clusters = fmt.Sprintf("%d clusters", n)
	}
	if len(parts) > 0 {
		clusters += ": " + strings.Join(parts, ", ")
	}
	return clusters + " · " + risks + "\n\n"
}

// mdTooSmall is the whole report when not even its first lines fit.
func (r *Report) mdTooSmall(limit int) string {
	return MarkdownMarker + "\n## fleiogen diff\n\n" + r.mdCompactSummary(fmt.Sprintf("%d risks", len(r.Risks))) +
		fmt.Sprintf("The report does not fit in %d bytes (`--max-size`): run the same `fleiogen` command with `-o text` or `-o json` to see it.\n", limit)
}

// mdRisks is the risks section in at most room bytes, and how many risks
// its table leaves out.
func (r *Report) mdRisks(room int) (string, int) {
	if len(r.Risks) == 0 {
		return "", 0
	}
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
	top := "### :warning: Risks\n\n" + strings.Join(byName, ", ") + "\n\n"
	const table = "| risk | cluster | Kustomization | object | what happens |\n|---|---|---|---|---|\n"
	more := func(n int) string {
		return fmt.Sprintf("\n…and %d more risks, not listed here: `-o text` and `-o json` list them all.\n", n)
	}
	const none = "The risks are not listed here: `-o text` and `-o json` list them all.\n"
	avail := room - len(top) - len(table) - max(len(more(len(r.Risks))), len(none)) - len("\n")
	var rows strings.Builder
	shown := 0
	for i, k := range r.Risks {
		if i == maxRows {
			break
		}
		obj := ""
		if k.Object != "" {
			obj = code(k.Object)
		}
		row := fmt.Sprintf("| %s | %s | %s | %s | %s |\n", code(k.Name), mdCell(k.Cluster), code(k.Kustomization), obj, mdCell(k.Message))
		if rows.Len()+len(row) > avail {
			break
		}
		rows.WriteString(row)
		shown++
	}
	var s string
	switch left := len(r.Risks) - shown; {
	case shown == 0:
		s = top + none + "\n"
	case left > 0:
		s = top + table + rows.String() + more(left) + "\n"
	default:
		s = top + table + rows.String() + "\n"
	}
	if len(s) > room {
		return "", len(r.Risks)
	}
	return s, len(r.Risks) - shown
}

// mdClusterHead is a cluster's heading with its status or its table of
// Kustomizations, and how many Kustomizations the table leaves out.
func (r *Report) mdClusterHead(c *ClusterDiff) (string, int) {
	var b strings.Builder
	fmt.Fprintf(&b, "### Cluster %s%s\n\n", code(c.Name), c.describe())
	if !c.Changed() || c.Removed {
		fmt.Fprintf(&b, "%s.\n\n", capitalise(c.status()))
		return b.String(), 0
	}
	if c.Added {
		fmt.Fprintf(&b, "%s.\n\n", capitalise(c.status()))
	}
	b.WriteString("| Kustomization | added | modified | moved | deleted | orphaned | pods restarted | risks |\n|---|--:|--:|--:|--:|--:|--:|---|\n")
	left := 0
	for i, k := range c.Kustomizations {
		if i == maxRows {
			left = len(c.Kustomizations) - maxRows
			fmt.Fprintf(&b, "| …and %d more Kustomizations | | | | | | | |\n", left)
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
	return b.String(), left
}

// mdClusterTable is one table with each cluster's counts, in at most room
// bytes, and how many clusters have a row (the first ones).
func (r *Report) mdClusterTable(room int) (string, int) {
	const top = "### Clusters\n\n| cluster | what changes | added | modified | moved | deleted | orphaned | pods restarted | risks |\n|---|---|--:|--:|--:|--:|--:|--:|--:|\n"
	more := func(n int) string { return fmt.Sprintf("| …and %d more clusters | | | | | | | | |\n", n) }
	avail := room - len(top) - len(more(len(r.Clusters))) - len("\n")
	var rows strings.Builder
	shown := 0
	for i, c := range r.Clusters {
		if i == maxRows {
			break
		}
		var n [5]int
		restarts, risks := 0, 0
		for _, k := range c.Kustomizations {
			for j, ch := range []Change{Added, Modified, Moved, Deleted, Orphaned} {
				n[j] += k.Count(ch)
			}
			restarts += len(k.Restarts)
		}
		for _, k := range r.Risks {
			if k.Cluster == c.Name {
				risks++
			}
		}
		row := fmt.Sprintf("| %s%s | %s | %s | %s | %s | %s | %s | %s | %s |\n", code(c.Name), mdCell(c.describe()), mdCell(c.status()),
			num(n[0]), num(n[1]), num(n[2]), num(n[3]), num(n[4]), num(restarts), num(risks))
		if rows.Len()+len(row) > avail {
			break
		}
		rows.WriteString(row)
		shown++
	}
	if shown == 0 {
		return "", 0
	}
	s := top + rows.String()
	if left := len(r.Clusters) - shown; left > 0 {
		s += more(left)
	}
	return s + "\n", shown
}

// mdObjects is a cluster's table of changed objects in at most room bytes,
// and how many objects it leaves out.
func mdObjects(c *ClusterDiff, room int) (string, int) {
	total := 0
	for _, k := range c.Kustomizations {
		total += len(k.Objects)
	}
	if total == 0 {
		return "", 0
	}
	const top = "| change | object | Kustomization | what |\n|---|---|---|---|\n"
	more := func(n int) string { return fmt.Sprintf("\n…and %d more objects.\n", n) }
	avail := room - len(top) - len(more(total)) - len("\n")
	var rows strings.Builder
	shown := 0
rows:
	for _, k := range c.Kustomizations {
		for _, o := range k.Objects {
			if shown == maxRows {
				break rows
			}
			what := o.Note
			if what == "" && len(o.Fields) > 0 {
				var fs []string
				for _, f := range o.Fields {
					fs = append(fs, code(f))
				}
				what = strings.Join(fs, ", ")
			}
			row := fmt.Sprintf("| %s | %s | %s | %s |\n", o.Change, code(o.Object), code(k.ID), mdCell(what))
			if rows.Len()+len(row) > avail {
				break rows
			}
			rows.WriteString(row)
			shown++
		}
	}
	if shown == 0 {
		return "", total
	}
	s := top + rows.String()
	if left := total - shown; left > 0 {
		s += more(left)
	}
	return s + "\n", total - shown
}

// mdDiffs is a cluster's collapsed section of diffs in at most room bytes,
// how many diffs it holds and the room left. A diff that does not fit is
// skipped; a later, smaller one may fit.
func mdDiffs(c *ClusterDiff, room int) (string, int, int) {
	total := 0
	for _, k := range c.Kustomizations {
		total += len(k.Objects)
	}
	if total == 0 {
		return "", 0, room
	}
	open := func(shown int) string {
		if shown == total {
			return fmt.Sprintf("<details><summary>Diffs on %s (%d objects)</summary>\n\n", c.Name, total)
		}
		return fmt.Sprintf("<details><summary>Diffs on %s (%d of %d objects)</summary>\n\n", c.Name, shown, total)
	}
	const closing = "</details>\n\n"
	avail := room - len(open(total-1)) - len(closing)
	var blocks strings.Builder
	shown := 0
	for _, k := range c.Kustomizations {
		for _, o := range k.Objects {
			block := fmt.Sprintf("%s %s in %s\n\n%s\n", o.Change, code(o.Object), code(k.ID), fenced("diff", o.Diff))
			if blocks.Len()+len(block) > avail {
				continue
			}
			blocks.WriteString(block)
			shown++
		}
	}
	if shown == 0 {
		return "", 0, room
	}
	s := open(shown) + blocks.String() + closing
	return s, shown, room - len(s)
}

// clip shortens s to at most n bytes, cutting between characters and
// ending with "…".
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
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
