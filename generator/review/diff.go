package review

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"sigs.k8s.io/yaml"

	"github.com/fleiogen/fleiogen/generator/fluxbuild"
)

// Change says what happens to an object or a Kustomization.
type Change string

// Changes, as the reports name them.
const (
	Added    Change = "added"
	Modified Change = "modified"
	// Deleted objects leave git and Flux deletes them (they are pruned).
	Deleted Change = "deleted"
	// Orphaned objects leave git but stay in the cluster, unmanaged:
	// they are marked kustomize.toolkit.fluxcd.io/prune: disabled or their
	// Kustomization does not prune.
	Orphaned Change = "orphaned"
	// Moved objects go from one Kustomization to another.
	Moved Change = "moved"
)

// Report is the comparison of two versions of the fleet.
type Report struct {
	Base string `json:"base"`
	Head string `json:"head"`
	// Main is set when changes were checked against the main branch.
	Main     string         `json:"main,omitempty"`
	Clusters []*ClusterDiff `json:"clusters"`
	Risks    []Risk         `json:"risks"`
}

// ClusterDiff is what changes on one cluster.
type ClusterDiff struct {
	Name        string `json:"name"`
	Environment string `json:"environment,omitempty"`
	Branch      string `json:"branch,omitempty"`
	// Added clusters are new in head; Removed ones are gone from head
	// (clusters/<name>/ keeps only bootstrap's flux-system/, so Flux on
	// that cluster prunes what fleiogen's Kustomizations applied).
	Added          bool                 `json:"added,omitempty"`
	Removed        bool                 `json:"removed,omitempty"`
	Kustomizations []*KustomizationDiff `json:"kustomizations"`
}

// Changed reports whether anything changes on the cluster.
func (c *ClusterDiff) Changed() bool { return c.Removed || len(c.Kustomizations) > 0 }

// KustomizationDiff is what changes in what one Kustomization applies.
type KustomizationDiff struct {
	// ID is namespace/name.
	ID string `json:"id"`
	// Change is added or deleted for the Kustomization itself, else
	// modified.
	Change  Change        `json:"change"`
	Objects []*ObjectDiff `json:"objects"`
	// Restarts are workloads whose pods restart because only their
	// settings checksum changed (the settings themselves are in Objects).
	Restarts []string `json:"restarts,omitempty"`
}

// Count returns how many of the objects have change c.
func (k *KustomizationDiff) Count(c Change) int {
	n := 0
	for _, o := range k.Objects {
		if o.Change == c {
			n++
		}
	}
	return n
}

// ObjectDiff is one object's change.
type ObjectDiff struct {
	// Object is "Kind namespace/name".
	Object     string `json:"object"`
	APIVersion string `json:"apiVersion"`
	Change     Change `json:"change"`
	// Fields are the changed field paths of a modified or moved object.
	Fields []string `json:"fields,omitempty"`
	// Note explains an orphaned or moved object.
	Note string `json:"note,omitempty"`
	// Diff is a unified diff of the YAML, noise removed and secret values
	// masked.
	Diff string `json:"diff"`
	id   fluxbuild.ObjectID
}

// Changed reports whether any cluster changes.
func (r *Report) Changed() bool {
	for _, c := range r.Clusters {
		if c.Changed() {
			return true
		}
	}
	return false
}

// Options narrow and extend a comparison.
type Options struct {
	// Main, when set, is the built main branch: a change whose result on a
	// cluster differs from what main gives that cluster is flagged
	// RiskUnpromoted.
	Main *Side
	// Branch, when set, keeps only the clusters that read this branch
	// (their GIT_BRANCH in flux-runtime-info, on either side).
	Branch string
	// Cluster, when set, keeps only this cluster.
	Cluster string
}

// Compare compares two built sides.
func Compare(base, head *Side, opt Options) *Report {
	r := &Report{Base: base.Label, Head: head.Label}
	if opt.Main != nil {
		r.Main = opt.Main.Label
	}
	var names []string
	for _, s := range []*Side{head, base} {
		for _, c := range s.Clusters {
			if !slices.Contains(names, c.Name) {
				names = append(names, c.Name)
			}
		}
	}
	slices.Sort(names)
	for _, name := range names {
		b, h := base.Cluster(name), head.Cluster(name)
		if opt.Cluster != "" && name != opt.Cluster {
			continue
		}
		if opt.Branch != "" && value(b, "GIT_BRANCH") != opt.Branch && value(h, "GIT_BRANCH") != opt.Branch {
			continue
		}
		var main *fluxbuild.Cluster
		if opt.Main != nil {
			main = opt.Main.Cluster(name)
		}
		cd, risks := compareCluster(b, h, main, opt.Main != nil)
		r.Clusters = append(r.Clusters, cd)
		r.Risks = append(r.Risks, risks...)
	}
	return r
}

func value(c *fluxbuild.Cluster, key string) string {
	if c == nil {
		return ""
	}
	return c.Values[key]
}

// located is an object and the Kustomization that applies it.
type located struct {
	ks  *fluxbuild.Kustomization
	obj *fluxbuild.Object
}

func objectsOf(c *fluxbuild.Cluster) map[fluxbuild.ObjectID]located {
	out := map[fluxbuild.ObjectID]located{}
	if c == nil {
		return out
	}
	for _, k := range c.Kustomizations {
		for _, o := range k.Objects {
			out[o.ID] = located{k, o}
		}
	}
	return out
}

func compareCluster(base, head, main *fluxbuild.Cluster, checkMain bool) (*ClusterDiff, []Risk) {
	cd := &ClusterDiff{}
	switch {
	case head == nil:
		// fleiogen never deletes flux bootstrap's clusters/<c>/flux-system/,
		// so the cluster's root Kustomization still applies ./clusters/<c>,
		// which is now empty of fleiogen's files: Flux prunes them.
		cd.Removed = true
		head = &fluxbuild.Cluster{Name: base.Name, Values: base.Values}
		if root := base.Kustomization(fluxbuild.RootName + "/" + fluxbuild.RootName); root != nil {
			k := *root
			k.Objects = nil
			head.Kustomizations = []*fluxbuild.Kustomization{&k}
		}
	case base == nil:
		cd.Added = true
	}
	cd.Name = head.Name
	cd.Environment, cd.Branch = head.Values["ENVIRONMENT"], head.Values["GIT_BRANCH"]
	rc := &riskCollector{cluster: cd.Name, base: base, head: head}
	if !cd.Removed {
		rc.branch()
	}
	bi, hi, mi := objectsOf(base), objectsOf(head), objectsOf(main)

	var order []*fluxbuild.Kustomization
	seen := map[string]bool{}
	for _, c := range []*fluxbuild.Cluster{head, base} {
		if c == nil {
			continue
		}
		for _, k := range c.Kustomizations {
			if !seen[k.ID()] {
				seen[k.ID()] = true
				order = append(order, k)
			}
		}
	}
	for _, k := range order {
		var bk, hk *fluxbuild.Kustomization
		if base != nil {
			bk = base.Kustomization(k.ID())
		}
		hk = head.Kustomization(k.ID())
		kd := &KustomizationDiff{ID: k.ID(), Change: Modified}
		switch {
		case bk == nil:
			kd.Change = Added
		case hk == nil:
			kd.Change = Deleted
		}
		if hk != nil {
			for _, o := range hk.Objects {
				was, inBase := bi[o.ID]
				switch {
				case !inBase:
					od := newObjectDiff(nil, o, Added)
					kd.Objects = append(kd.Objects, od)
					rc.added(hk, o, od)
				case was.ks.ID() != hk.ID():
					od := newObjectDiff(was.obj, o, Moved)
					od.Note = "moved from " + was.ks.ID()
					kd.Objects = append(kd.Objects, od)
					rc.moved(was.ks, hk, was.obj, o, od)
				default:
					od, restart := compareObjects(was.obj, o)
					if restart {
						kd.Restarts = append(kd.Restarts, o.ID.String())
					}
					if od != nil {
						kd.Objects = append(kd.Objects, od)
						rc.modified(hk, was.obj, o, od)
					}
				}
			}
		}
		if bk != nil {
			for _, o := range bk.Objects {
				now, inHead := hi[o.ID]
				switch {
				case inHead && now.ks.ID() != bk.ID():
					// Reported as moved where it arrives.
				case !inHead:
					od := newObjectDiff(o, nil, Deleted)
					od.Note = "Flux deletes it (prune)"
					if reason := keptBecause(bk, hk, o); reason != "" {
						od.Change, od.Note = Orphaned, reason
					}
					kd.Objects = append(kd.Objects, od)
					if od.Change == Deleted {
						rc.pruned(bk, hk, o)
					}
				}
			}
		}
		if checkMain {
			for _, od := range kd.Objects {
				rc.unpromoted(k.ID(), od, hi, mi, main == nil)
			}
		}
		if len(kd.Objects) > 0 || len(kd.Restarts) > 0 || kd.Change != Modified {
			cd.Kustomizations = append(cd.Kustomizations, kd)
		}
	}
	rc.dependencies(base, head)
	rc.rekey()
	rc.downgrade()
	return cd, rc.risks
}

// keptBecause explains why an object that leaves git stays in the cluster,
// or returns "" when Flux deletes it.
func keptBecause(bk, hk *fluxbuild.Kustomization, o *fluxbuild.Object) string {
	switch {
	case o.Marked(fluxbuild.PruneKey, fluxbuild.Disabled):
		return "kept in the cluster, no longer managed: it is marked " + fluxbuild.PruneKey + ": " + fluxbuild.Disabled
	case hk != nil && !hk.Prune:
		return "kept in the cluster, no longer managed: " + hk.ID() + " does not prune"
	case hk == nil && !bk.PrunesOnDelete():
		return "kept in the cluster, no longer managed: " + bk.ID() + " is deleted and orphans what it applied"
	}
	return ""
}

// compareObjects compares the two versions of an object in the same
// Kustomization. It returns nil when nothing but noise changed, and
// whether a workload's pods restart because its checksum changed.
func compareObjects(base, head *fluxbuild.Object) (*ObjectDiff, bool) {
	if reflect.DeepEqual(base.Content, head.Content) {
		return nil, false
	}
	bc, hc := clean(base.Content), clean(head.Content)
	if equal(bc, hc) {
		return nil, isWorkload(head.ID)
	}
	od := newObjectDiff(base, head, Modified)
	return od, false
}

func isWorkload(id fluxbuild.ObjectID) bool {
	return (id.Group == "apps" && (id.Kind == "Deployment" || id.Kind == "StatefulSet" || id.Kind == "DaemonSet")) ||
		(id.Group == "batch" && (id.Kind == "CronJob" || id.Kind == "Job"))
}

func equal(a, b any) bool { return reflect.DeepEqual(a, b) }

// newObjectDiff builds the diff of an object from base to head (either may
// be nil).
func newObjectDiff(base, head *fluxbuild.Object, change Change) *ObjectDiff {
	o := head
	if o == nil {
		o = base
	}
	od := &ObjectDiff{Object: o.ID.String(), APIVersion: o.APIVersion, Change: change, id: o.ID}
	var bc, hc any
	if base != nil {
		bc = clean(base.Content)
	}
	if head != nil {
		hc = clean(head.Content)
	}
	if base != nil && head != nil {
		od.Fields = changedFields(bc, hc, 8)
	}
	mb, mh := masked(o.ID, bc), masked(o.ID, hc)
	od.Diff = unifiedDiff(mb, mh)
	if od.Diff == "" && base != nil && head != nil && len(od.Fields) > 0 {
		// The change is inside masked values only: say so rather than
		// show an empty diff, without showing them.
		od.Diff = "# only masked (secret) values changed, in: " + strings.Join(od.Fields, ", ") + "\n"
	}
	return od
}

// masked returns the YAML of a cleaned content with credentials masked.
func masked(id fluxbuild.ObjectID, content any) string {
	m, ok := content.(map[string]any)
	if !ok {
		return ""
	}
	maskCredentials(id, m)
	y, err := yaml.Marshal(m)
	if err != nil {
		// Content decoded from JSON always marshals; say so if not.
		return fmt.Sprintf("# cannot serialise: %v\n", err)
	}
	return string(y)
}

// lines splits text into lines that keep their newline; empty text has
// none.
func lines(text string) []string {
	if text == "" {
		return nil
	}
	return difflib.SplitLines(strings.TrimSuffix(text, "\n"))
}

// unifiedDiff returns a unified diff with three lines of context, without
// the file header lines.
func unifiedDiff(a, b string) string {
	out, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: lines(a), B: lines(b),
		FromFile: "base", ToFile: "head", Context: 3,
	})
	// Drop the "--- base" and "+++ head" lines: reports name the object.
	if i := strings.Index(out, "@@"); i >= 0 {
		out = out[i:]
	}
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	return out
}
