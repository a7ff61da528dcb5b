package review

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// goldenReport is one change with a deletion, a settings change that
// restarts pods, secret material and an immutable change.
func goldenReport(t *testing.T) *Report {
	r := newFleetRepo(t, true)
	r.edit("specs/billing/fleio.yaml", "enableBackups: yes", "enableBackups: no")
	r.edit("specs/fleet.yaml", "databaseBackups: 100Gi", "databaseBackups: 50Gi")
	r.render()
	addPassword(r)
	rep := r.compare("main", "", true, Options{})
	// The base's commit hash follows the rendered tree, which every change
	// to the renderer moves; the golden files name it as 0000000.
	if !commitInBase.MatchString(rep.Base) {
		t.Fatalf("report base %q does not name main's commit", rep.Base)
	}
	rep.Base = commitInBase.ReplaceAllString(rep.Base, "(0000000)")
	return rep
}

var commitInBase = regexp.MustCompile(`\([0-9a-f]{7,40}\)`)

func TestReportFormats(t *testing.T) {
	rep := goldenReport(t)
	for _, f := range Formats {
		t.Run(f, func(t *testing.T) {
			var b strings.Builder
			if err := WriteReport(&b, rep, f, 0); err != nil {
				t.Fatal(err)
			}
			golden(t, "report."+map[string]string{"text": "txt", "markdown": "md", "json": "json"}[f], b.String())
			if strings.Contains(b.String(), "Tr0ub4dor") {
				t.Error("the report repeats the password")
			}
		})
	}
}

func TestReportIsStable(t *testing.T) {
	a, b := markdown(t, goldenReport(t)), markdown(t, goldenReport(t))
	if a != b {
		t.Error("two runs on the same change gave different Markdown")
	}
}

func TestJSONReportDecodes(t *testing.T) {
	var b strings.Builder
	if err := WriteReport(&b, goldenReport(t), "json", 0); err != nil {
		t.Fatal(err)
	}
	var got Report
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Clusters) != 2 || len(got.Risks) == 0 || got.Clusters[0].Kustomizations[0].Objects[0].Diff == "" {
		t.Errorf("decoded report lacks clusters, risks or diffs: %+v", got)
	}
}

func TestMarkdownLimitDropsDiffsNotTables(t *testing.T) {
	rep := goldenReport(t)
	var full, small strings.Builder
	if err := WriteReport(&full, rep, "markdown", 0); err != nil {
		t.Fatal(err)
	}
	const limit = 6000
	if err := WriteReport(&small, rep, "markdown", limit); err != nil {
		t.Fatal(err)
	}
	if full.Len() <= limit {
		t.Fatalf("the full report (%d bytes) is not over the limit; the test proves nothing", full.Len())
	}
	if small.Len() > limit {
		t.Errorf("report is %d bytes, limit %d", small.Len(), limit)
	}
	for _, want := range []string{"| `prune` | prod-eu |", "CronJob billing/fleio-cloud-backup", "This report is shortened", "diffs. Run the same `fleiogen` command with `-o text` or `-o json`"} {
		if !strings.Contains(small.String(), want) {
			t.Errorf("limited report lacks %q", want)
		}
	}
}

func TestChangeOfFormatIsAnError(t *testing.T) {
	if err := WriteReport(&strings.Builder{}, &Report{}, "html", 0); err == nil {
		t.Error("unknown format accepted")
	}
}

// manyClusters is examples/fleet with 13 clusters and one deployment
// renamed (cloud to cloud2): every cluster changes 12 Kustomizations, with
// hundreds of risks and objects. The tables alone, without any diff, are
// longer than GitHub takes.
func manyClusters(t *testing.T) *Report {
	r := newFleetRepo(t, false)
	var extra strings.Builder
	for i := 2; i <= 12; i++ {
		fmt.Fprintf(&extra, "    - name: c%02d\n      environment: staging\n      branch: main\n      domain: c%02d.example.com\n      tenants: [billing, hosting]\n", i, i)
	}
	r.edit("specs/fleet.yaml", "  environments:\n", extra.String()+"  environments:\n")
	r.commit("13 clusters")
	r.edit("specs/billing/fleio.yaml", "  name: cloud\n", "  name: cloud2\n")
	return r.compare("main", "", false, Options{})
}

var detailsBlock = regexp.MustCompile(`(?s)<details>.*?</details>\n*`)

func TestMarkdownLimitHoldsForManyClusters(t *testing.T) {
	rep := manyClusters(t)
	if len(rep.Clusters) != 13 || len(rep.Risks) < 100 {
		t.Fatalf("%d clusters, %d risks: not the case this test is about", len(rep.Clusters), len(rep.Risks))
	}
	var full strings.Builder
	if err := WriteReport(&full, rep, "markdown", 1<<30); err != nil {
		t.Fatal(err)
	}
	// What used to be charged to no limit: everything but the diffs.
	if skeleton := detailsBlock.ReplaceAllString(full.String(), ""); len(skeleton) <= 65536 {
		t.Fatalf("without diffs the report is %d bytes: the test proves nothing", len(skeleton))
	}
	firstRisk := fmt.Sprintf("| `%s` | %s | `%s` | `%s` |", rep.Risks[0].Name, rep.Risks[0].Cluster, rep.Risks[0].Kustomization, rep.Risks[0].Object)
	riskCount := fmt.Sprintf("**%d risks**", len(rep.Risks))
	prevRows := 0
	for _, limit := range []int{MinMarkdownLimit, 1500, 3000, 8000, 20000, 40000, MarkdownLimit, 65536} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			var b strings.Builder
			if err := WriteReport(&b, rep, "markdown", limit); err != nil {
				t.Fatal(err)
			}
			md := b.String()
			if len(md) > limit {
				t.Errorf("report is %d bytes, limit %d", len(md), limit)
			}
			if !utf8.ValidString(md) {
				t.Error("report is not valid UTF-8")
			}
			if !strings.HasPrefix(md, MarkdownMarker+"\n") || !strings.Contains(md, riskCount) {
				t.Errorf("report lacks the marker or the summary:\n%.600s", md)
			}
			for _, want := range []string{"> **This report is shortened** to fit " + fmt.Sprint(limit) + " bytes", "Run the same `fleiogen` command with `-o text` or `-o json`"} {
				if !strings.Contains(md, want) {
					t.Errorf("report lacks %q", want)
				}
			}
			// The risks come first, and the table says how many it leaves out.
			risks := strings.Index(md, "### :warning: Risks")
			first := strings.Index(md, firstRisk)
			if risks < 0 || first < risks {
				t.Fatalf("the risks section or its first row is missing:\n%s", md)
			}
			for _, later := range []string{"### Cluster", "<details>"} {
				if i := strings.Index(md, later); i >= 0 && i < first {
					t.Errorf("%q comes before the risks", later)
				}
			}
			rows := 0
			for _, r := range Risks {
				rows += strings.Count(md, "\n| `"+r.Name+"` |")
			}
			more := regexp.MustCompile(`…and (\d+) more risks, not listed here`).FindStringSubmatch(md)
			if more == nil || rows+atoi(t, more[1]) != len(rep.Risks) {
				t.Errorf("%d risk rows and %v more, want %d in all", rows, more, len(rep.Risks))
			}
			if rows < prevRows {
				t.Errorf("%d risk rows, fewer than the %d of a smaller limit", rows, prevRows)
			}
			prevRows = rows
			if strings.Count(md, "<details>") != strings.Count(md, "</details>") || strings.Count(md, "```")%2 != 0 {
				t.Error("an unclosed <details> or code block")
			}
			var again strings.Builder
			if err := WriteReport(&again, rep, "markdown", limit); err != nil || again.String() != md {
				t.Error("two runs gave different reports")
			}
			// With room, each cluster has its counts.
			if limit >= 20000 {
				for _, c := range rep.Clusters {
					if !strings.Contains(md, "`"+c.Name+"` ("+c.Environment) {
						t.Errorf("no counts for cluster %s", c.Name)
					}
				}
			}
		})
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMarkdownLimitHoldsForAnyReport: a made-up report far larger than any
// fleet, with long names, multi-byte characters and backticks, fits every
// limit from the smallest up.
func TestMarkdownLimitHoldsForAnyReport(t *testing.T) {
	long := strings.Repeat("é", 300)
	rep := &Report{Base: "origin/" + long, Head: "working tree", Main: strings.Repeat("`", 50)}
	for i := range 300 {
		c := &ClusterDiff{Name: fmt.Sprintf("cluster-%03d-%s", i, long[:i%40*2]), Environment: "production", Branch: "prod", Added: i%7 == 0}
		if i%11 == 0 {
			c.Removed, c.Added = true, false
		}
		for j := range 45 {
			k := &KustomizationDiff{ID: fmt.Sprintf("tenant-%d/fleio-%d-app", j, j), Change: Modified, Restarts: []string{"Deployment x/" + long[:j*2]}}
			for o := range 3 {
				k.Objects = append(k.Objects, &ObjectDiff{Object: fmt.Sprintf("ConfigMap tenant-%d/settings-%d", j, o), Change: Modified, Fields: []string{"data.`settings`|" + long[:o*20]},
					Diff: strings.Repeat("-  a: é\n+  a: ```ü\n", 1+(i*j+o)%60)})
			}
			c.Kustomizations = append(c.Kustomizations, k)
		}
		rep.Clusters = append(rep.Clusters, c)
	}
	for i := range 500 {
		rep.Risks = append(rep.Risks, Risk{Name: Risks[i%len(Risks)].Name, Cluster: rep.Clusters[i%300].Name, Kustomization: "tenant-1/fleio-1-app", Object: "Secret a/" + long[:i%100*2], Message: "it " + long})
	}
	for _, limit := range []int{MinMarkdownLimit, 1001, 1777, 4096, 30000, 65536, 1 << 20} {
		var b strings.Builder
		if err := WriteReport(&b, rep, "markdown", limit); err != nil {
			t.Fatal(err)
		}
		md := b.String()
		if len(md) > limit || !utf8.ValidString(md) || !strings.HasPrefix(md, MarkdownMarker+"\n") || !strings.Contains(md, "-o text") {
			t.Errorf("limit %d: %d bytes, valid UTF-8 %v:\n%.1500s", limit, len(md), utf8.ValidString(md), md)
		}
	}
}

func TestMarkdownLimitBelowMinimum(t *testing.T) {
	for _, limit := range []int{-5, 1, MinMarkdownLimit - 1} {
		if err := WriteReport(&strings.Builder{}, &Report{}, "markdown", limit); err == nil {
			t.Errorf("limit %d accepted", limit)
		}
	}
	// The text and JSON reports are never shortened: the limit is not theirs.
	for _, f := range []string{"text", "json"} {
		if err := WriteReport(&strings.Builder{}, &Report{}, f, 1); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	var v LimitFlag
	for _, s := range []string{"0", "-5", "999", "1e4", "ten"} {
		if v.Set(s) == nil {
			t.Errorf("--max-size %s accepted", s)
		}
	}
	if err := v.Set("1000"); err != nil || v != 1000 {
		t.Errorf("--max-size 1000: %v, %d", err, v)
	}
}

// TestMarkdownNoteOnlyWhenShortened: a removed cluster's deletions are not
// detailed in Markdown, and that is not "left out".
func TestMarkdownNoteOnlyWhenShortened(t *testing.T) {
	gone := &KustomizationDiff{ID: "flux-system/tenant-a", Change: Deleted, Objects: []*ObjectDiff{{Object: "Namespace a", Change: Deleted, Diff: "-kind: Namespace\n"}}}
	rep := &Report{Base: "main", Head: "working tree", Clusters: []*ClusterDiff{{Name: "old", Removed: true, Kustomizations: []*KustomizationDiff{gone}}}}
	if md := markdown(t, rep); strings.Contains(md, "shortened") || !strings.Contains(md, "Removed from the fleet") {
		t.Errorf("report:\n%s", md)
	}
}

// TestMarkdownCellEscapes: text a spec wrote cannot become an image, a
// link, HTML or a new cell in the Markdown report; fleiogen's own code
// spans are kept.
func TestMarkdownCellEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"![x](https://evil.example/p.png) <!-- token": `\!\[x\](https://evil.example/p.png) &lt;\!-- token`,
		"a | b\nc":                  `a \| b c`,
		"modified `data.settings`":  "modified `data.settings`",
		"`a|b` and *bold* <b>":      "`a\\|b` and \\*bold\\* &lt;b&gt;",
		"unclosed ` tick [x]":       "unclosed \\` tick \\[x\\]",
		"``code with ` inside`` ok": "``code with ` inside`` ok",
	} {
		if got := mdCell(in); got != want {
			t.Errorf("mdCell(%q) = %q, want %q", in, got, want)
		}
	}
}
