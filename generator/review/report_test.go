package review

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
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
	for _, want := range []string{"| `prune` | prod-eu |", "CronJob billing/fleio-cloud-backup", "diffs were left out"} {
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
