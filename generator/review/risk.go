package review

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/fleiogen/fleiogen/generator"
	"github.com/fleiogen/fleiogen/generator/fluxbuild"
)

// Risk names, for --fail-on.
const (
	RiskPrune             = "prune"
	RiskPruneProtection   = "prune-protection"
	RiskImmutableJob      = "immutable-job"
	RiskImmutableSelector = "immutable-selector"
	RiskImmutablePVC      = "immutable-pvc"
	RiskImmutableService  = "immutable-service"
	RiskPVCResize         = "pvc-resize"
	RiskDependency        = "dependency"
	RiskUnpromoted        = "unpromoted"
	RiskSecret            = "secret"
	RiskBranch            = "branch"
	RiskRekey             = "rekey"
	RiskDowngrade         = "downgrade"
)

// RiskInfo names and explains a risk.
type RiskInfo struct{ Name, Description string }

// Risks are every risk Compare flags, in the order reports list them.
var Risks = []RiskInfo{
	{RiskPrune, "an object leaves git and Flux deletes it (or may delete it while it moves between Kustomizations)"},
	{RiskPruneProtection, "a PVC loses kustomize.toolkit.fluxcd.io/prune: disabled or arrives without it, or the deployment-keys Secret appears in git"},
	{RiskImmutableJob, "a Job's pod template changes without kustomize.toolkit.fluxcd.io/force: enabled: the apply fails"},
	{RiskImmutableSelector, "a Deployment's (StatefulSet's, DaemonSet's, ReplicaSet's) selector changes: the apply fails"},
	{RiskImmutablePVC, "a PVC's storage class, access modes, volume mode or volume name change, or its size decreases: the apply fails (with force, the PVC is recreated and its data lost)"},
	{RiskImmutableService, "a Service's clusterIP changes: the apply fails"},
	{RiskPVCResize, "a PVC's size grows: the apply fails unless the claim is bound and its storage class allows volume expansion"},
	{RiskDependency, "a Kustomization's dependsOn changes, points to a Kustomization that does not exist, or a stage chain breaks or loops"},
	{RiskUnpromoted, "a change is not what the main branch gives that cluster: it would reach the cluster without having been on main"},
	{RiskSecret, "plain-text secret material appears: a Secret with data in git, or a literal env value or setting named like a password or key"},
	{RiskBranch, "a cluster's Git branch (GIT_BRANCH) changes: its flux-system sync, which flux bootstrap wrote, keeps reading the old branch until the cluster is bootstrapped again"},
	{RiskRekey, "a FleioDeployment now uses the database another one used (a rename, a move to another namespace, databases swapped): its deployment keys cannot read what the other's encrypted there, and a new name's volumes start empty"},
	{RiskDowngrade, "a FleioDeployment's release (spec.version) goes back: the older release's code runs on tables the newer one migrated, which Django does not undo"},
}

// riskGroups are names that stand for several risks in --fail-on.
var riskGroups = map[string][]string{
	"immutable": {RiskImmutableJob, RiskImmutableSelector, RiskImmutablePVC, RiskImmutableService},
}

// ParseRisks parses a comma-separated list of risk names, group names
// (immutable) and "all" into a set of risk names.
func ParseRisks(list string) (map[string]bool, error) {
	out := map[string]bool{}
	var bad []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		switch {
		case n == "":
		case n == "all":
			for _, r := range Risks {
				out[r.Name] = true
			}
		case riskGroups[n] != nil:
			for _, r := range riskGroups[n] {
				out[r] = true
			}
		case slices.ContainsFunc(Risks, func(r RiskInfo) bool { return r.Name == n }):
			out[n] = true
		default:
			bad = append(bad, n)
		}
	}
	if len(bad) > 0 {
		var names []string
		for _, r := range Risks {
			names = append(names, r.Name)
		}
		return nil, fmt.Errorf("unknown risk %s (known: %s; groups: immutable, all)", strings.Join(bad, ", "), strings.Join(names, ", "))
	}
	if len(out) == 0 {
		// An empty set would pass every change.
		return nil, fmt.Errorf("%q names no risk (give risk names, \"immutable\" or \"all\")", list)
	}
	return out, nil
}

// Risk is one risky change.
type Risk struct {
	Name          string `json:"name"`
	Cluster       string `json:"cluster"`
	Kustomization string `json:"kustomization"`
	Object        string `json:"object,omitempty"`
	Message       string `json:"message"`
}

// Failing returns the risks whose name is in names.
func (r *Report) Failing(names map[string]bool) []Risk {
	var out []Risk
	for _, k := range r.Risks {
		if names[k.Name] {
			out = append(out, k)
		}
	}
	return out
}

type riskCollector struct {
	cluster    string
	base, head *fluxbuild.Cluster
	risks      []Risk
}

func (rc *riskCollector) add(name, ks string, obj fluxbuild.ObjectID, format string, args ...any) {
	r := Risk{Name: name, Cluster: rc.cluster, Kustomization: ks, Message: fmt.Sprintf(format, args...)}
	if obj != (fluxbuild.ObjectID{}) {
		r.Object = obj.String()
	}
	rc.risks = append(rc.risks, r)
}

// branch flags a cluster whose GIT_BRANCH changes. fleiogen writes the
// branch into runtime-info, which the tenants' GitRepositories read, but
// the cluster's own sync (clusters/<c>/flux-system/, flux bootstrap's)
// names the branch it was bootstrapped from: until it is bootstrapped
// again, the cluster applies clusters/ and tenants/ from the old branch
// and the stages from the new one.
func (rc *riskCollector) branch() {
	if rc.base == nil || rc.head == nil {
		return
	}
	from, to := rc.base.Values["GIT_BRANCH"], rc.head.Values["GIT_BRANCH"]
	if from == "" || to == "" || from == to {
		return
	}
	rc.add(RiskBranch, fluxbuild.RootName+"/"+fluxbuild.RootName,
		fluxbuild.ObjectID{Kind: "ConfigMap", Namespace: fluxbuild.RootName, Name: generator.RuntimeInfo},
		"GIT_BRANCH changes from %s to %s, but flux bootstrap's sync of this cluster still reads %s: it would apply clusters/ and tenants/ from %s and the stages from %s. "+
			"Bootstrap the cluster again from %s (flux bootstrap git --branch=%s, the branch existing and holding this change) as this change lands",
		from, to, from, from, to, to, to)
}

// rekey flags a FleioDeployment whose setup-database Job points at the
// database (FLEIO_DATABASE, host:port/name) that another FleioDeployment's
// setup-database Job pointed at in base: a FleioDeployment renamed or
// moved to another namespace, or two that swap databases. Its deployment
// keys are not the ones that wrote that database, so Fleio cannot read
// what it encrypted there; a new name's PVCs also start empty, while the
// old ones stay, orphaned.
func (rc *riskCollector) rekey() {
	if rc.base == nil || rc.head == nil {
		return
	}
	owner := map[string]*fluxbuild.Object{} // base's setup Jobs, by database
	for _, k := range rc.base.Kustomizations {
		for _, o := range k.Objects {
			if isSetupJob(o) {
				if db := setupDatabase(o); db != "" {
					owner[db] = o
				}
			}
		}
	}
	for _, k := range rc.head.Kustomizations {
		for _, o := range k.Objects {
			if !isSetupJob(o) {
				continue
			}
			db := setupDatabase(o)
			old, ok := owner[db]
			if db == "" || !ok || old.ID.Namespace == o.ID.Namespace && instanceOf(old) == instanceOf(o) {
				continue
			}
			ns, name, oldNS, oldName := o.ID.Namespace, instanceOf(o), old.ID.Namespace, instanceOf(old)
			rc.add(RiskRekey, k.ID(), o.ID, "FleioDeployment %s/%s now uses database %s, which %s/%s used: "+
				"its deployment keys (Secret %s/fleio-%s-deployment-keys) are not the ones that wrote it, so Fleio cannot read what it encrypted there with %s/fleio-%s-deployment-keys, and its volumes are not that deployment's. "+
				"For a rename or a move, copy that Secret to the new name and the volumes' data before this lands (README: Renaming or moving a FleioDeployment); otherwise, point it back",
				ns, name, db, oldNS, oldName, ns, name, oldNS, oldName)
		}
	}
}

// downgrade flags a FleioDeployment whose setup-database Job runs an older
// release (FLEIO_VERSION) than in base: Django does not undo the newer
// release's migrations, so the older code runs on tables it does not know.
func (rc *riskCollector) downgrade() {
	if rc.base == nil || rc.head == nil {
		return
	}
	was := map[fluxbuild.ObjectID]string{} // base's setup Jobs' releases
	for _, k := range rc.base.Kustomizations {
		for _, o := range k.Objects {
			if isSetupJob(o) {
				was[o.ID] = jobEnv(o, "FLEIO_VERSION")
			}
		}
	}
	for _, k := range rc.head.Kustomizations {
		for _, o := range k.Objects {
			if !isSetupJob(o) {
				continue
			}
			from, to := was[o.ID], jobEnv(o, "FLEIO_VERSION")
			if !olderRelease(to, from) {
				continue
			}
			rc.add(RiskDowngrade, k.ID(), o.ID, "FleioDeployment %s/%s goes back from release %s to %s: Django does not undo %s's migrations, so %s would run on tables it does not know. "+
				"To go back, restore the database from the backup taken before the upgrade (README: Downgrade), then merge this; otherwise keep %s",
				o.ID.Namespace, instanceOf(o), from, to, from, to, from)
		}
	}
}

// olderRelease reports whether Fleio release a (YYYY.MM.PATCH) is older
// than b; false when either does not parse.
func olderRelease(a, b string) bool {
	pa, okA := parseRelease(a)
	pb, okB := parseRelease(b)
	return okA && okB && slices.Compare(pa, pb) < 0
}

func parseRelease(v string) ([]int, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return nil, false
	}
	out := make([]int, 3)
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

// isSetupJob reports whether o is a FleioDeployment's setup-database Job.
func isSetupJob(o *fluxbuild.Object) bool {
	return o.ID.Group == "batch" && o.ID.Kind == "Job" && o.Labels()["app.kubernetes.io/component"] == "setup-database" && instanceOf(o) != ""
}

func instanceOf(o *fluxbuild.Object) string { return o.Labels()[fluxbuild.InstanceLabel] }

// setupDatabase is the FLEIO_DATABASE a setup-database Job's containers
// set, or "".
func setupDatabase(o *fluxbuild.Object) string { return jobEnv(o, "FLEIO_DATABASE") }

// jobEnv is the literal value of environment variable name in a Job's
// containers, or "".
func jobEnv(o *fluxbuild.Object, name string) string {
	containers, _ := o.Path("spec", "template", "spec", "containers").([]any)
	for _, c := range containers {
		cm, _ := c.(map[string]any)
		env, _ := cm["env"].([]any)
		for _, e := range env {
			if em, _ := e.(map[string]any); em["name"] == name {
				v, _ := em["value"].(string)
				return v
			}
		}
	}
	return ""
}

func protected(o *fluxbuild.Object) bool { return o.Marked(fluxbuild.PruneKey, fluxbuild.Disabled) }

func isPVC(id fluxbuild.ObjectID) bool { return id.Group == "" && id.Kind == "PersistentVolumeClaim" }

// isKeysSecret reports whether id is a deployment-keys Secret, which the
// deployment-keys Job creates in the cluster and Flux must never own.
func isKeysSecret(id fluxbuild.ObjectID) bool {
	return id.Group == "" && id.Kind == "Secret" && strings.HasSuffix(id.Name, "-deployment-keys")
}

func (rc *riskCollector) added(k *fluxbuild.Kustomization, o *fluxbuild.Object, od *ObjectDiff) {
	rc.secrets(k, nil, o)
	switch {
	case isKeysSecret(o.ID):
		rc.add(RiskPruneProtection, k.ID(), o.ID, "Flux now applies this Secret from git: it overwrites the keys the deployment-keys Job created%s", keysPruneNote(o))
	case isPVC(o.ID) && !protected(o):
		rc.add(RiskPruneProtection, k.ID(), o.ID, "new PVC without %s: %s: if it ever leaves git, Flux deletes it and its data", fluxbuild.PruneKey, fluxbuild.Disabled)
	}
}

func keysPruneNote(o *fluxbuild.Object) string {
	if protected(o) {
		return ""
	}
	return ", and without " + fluxbuild.PruneKey + ": " + fluxbuild.Disabled + " it is deleted (keys lost) when it leaves git"
}

func (rc *riskCollector) modified(k *fluxbuild.Kustomization, b, h *fluxbuild.Object, od *ObjectDiff) {
	rc.secrets(k, b, h)
	if (isPVC(h.ID) || isKeysSecret(h.ID)) && protected(b) && !protected(h) {
		rc.add(RiskPruneProtection, k.ID(), h.ID, "loses %s: %s: if it leaves git, Flux deletes it and its data", fluxbuild.PruneKey, fluxbuild.Disabled)
	}
	rc.immutable(k, b, h)
}

func (rc *riskCollector) moved(from, to *fluxbuild.Kustomization, b, h *fluxbuild.Object, od *ObjectDiff) {
	prunes := from.PrunesOnDelete()
	if hf := rc.head.Kustomization(from.ID()); hf != nil {
		prunes = hf.Prune
	}
	if prunes && !protected(b) {
		rc.add(RiskPrune, to.ID(), h.ID, "moves from %s, which prunes: if %s reconciles first, Flux deletes it before %s applies it again", from.ID(), from.ID(), to.ID())
	}
	rc.modified(to, b, h, od)
}

func (rc *riskCollector) pruned(bk, hk *fluxbuild.Kustomization, o *fluxbuild.Object) {
	why := "it leaves " + bk.ID() + ", which prunes"
	if hk == nil {
		why = bk.ID() + " is deleted and deletes what it applied"
	}
	what := ""
	switch {
	case o.ID.Group == "" && o.ID.Kind == "Namespace":
		what = "; deleting a Namespace deletes everything in it, PVCs and Secrets included"
	case isPVC(o.ID):
		what = "; its volume and data go with it"
	case o.ID.Group == "apiextensions.k8s.io" && o.ID.Kind == "CustomResourceDefinition":
		what = "; every custom resource of this kind goes with it"
	case o.ID.Group == "helm.toolkit.fluxcd.io" && o.ID.Kind == "HelmRelease":
		what = "; helm-controller uninstalls the release"
	case o.ID.Group == "kustomize.toolkit.fluxcd.io" && o.ID.Kind == "Kustomization":
		what = "; what it applies goes with it unless its objects are protected"
	}
	rc.add(RiskPrune, bk.ID(), o.ID, "will be deleted: %s%s", why, what)
}

// secrets flags credentials in h that b (nil for a new object) did not
// have.
func (rc *riskCollector) secrets(k *fluxbuild.Kustomization, b, h *fluxbuild.Object) {
	had := map[string]bool{}
	if b != nil {
		for _, c := range maskCredentials(b.ID, clean(b.Content).(map[string]any)) {
			had[c.sum] = true
		}
	}
	for _, c := range maskCredentials(h.ID, clean(h.Content).(map[string]any)) {
		if !had[c.sum] {
			rc.add(RiskSecret, k.ID(), h.ID, "plain-text secret material in git: %s; keep it in a Secret created in the cluster (or encrypted) and reference it", c.Where)
		}
	}
}

// immutable flags changes to fields the API server refuses to change.
func (rc *riskCollector) immutable(k *fluxbuild.Kustomization, b, h *fluxbuild.Object) {
	forced := k.Force || h.Marked(fluxbuild.ForceKey, fluxbuild.Enabled)
	recreate := ": the apply fails"
	if forced {
		recreate = ": force is enabled, so Flux deletes and re-creates it"
	}
	id := h.ID
	bc, hc := clean(b.Content).(map[string]any), clean(h.Content).(map[string]any)
	get := func(m map[string]any, fields ...string) any {
		var cur any = m
		for _, f := range fields {
			mm, _ := cur.(map[string]any)
			cur = mm[f]
		}
		return cur
	}
	switch {
	case id.Group == "batch" && id.Kind == "Job":
		if !forced && !equal(get(bc, "spec", "template"), get(hc, "spec", "template")) {
			rc.add(RiskImmutableJob, k.ID(), id, "the pod template changes and the Job is not marked %s: %s: the apply fails until the Job is deleted", fluxbuild.ForceKey, fluxbuild.Enabled)
		}
	case id.Group == "apps" && (id.Kind == "Deployment" || id.Kind == "StatefulSet" || id.Kind == "DaemonSet" || id.Kind == "ReplicaSet"):
		if !equal(get(bc, "spec", "selector"), get(hc, "spec", "selector")) {
			rc.add(RiskImmutableSelector, k.ID(), id, "spec.selector changes (immutable)%s", recreate)
		}
	case isPVC(id):
		var what []string
		for _, f := range []string{"storageClassName", "accessModes", "volumeMode", "volumeName"} {
			if !equal(get(bc, "spec", f), get(hc, "spec", f)) {
				what = append(what, "spec."+f+" changes")
			}
		}
		bs, _ := get(bc, "spec", "resources", "requests", "storage").(string)
		hs, _ := get(hc, "spec", "resources", "requests", "storage").(string)
		if bq, err := resource.ParseQuantity(bs); err == nil {
			if hq, err := resource.ParseQuantity(hs); err == nil {
				switch hq.Cmp(bq) {
				case -1:
					what = append(what, fmt.Sprintf("the size decreases from %s to %s", bs, hs))
				case 1:
					rc.add(RiskPVCResize, k.ID(), id, "the size grows from %s to %s: the API server accepts it only once the claim is bound and only if its storage class has allowVolumeExpansion: true; otherwise the apply fails and the later stages wait", bs, hs)
				}
			}
		}
		if len(what) > 0 {
			note := recreate
			if forced {
				note += ", and the volume's data is lost"
			}
			rc.add(RiskImmutablePVC, k.ID(), id, "%s (immutable)%s", strings.Join(what, ", "), note)
		}
	case id.Group == "" && id.Kind == "Service":
		bip, hip := get(bc, "spec", "clusterIP"), get(hc, "spec", "clusterIP")
		bips, hips := get(bc, "spec", "clusterIPs"), get(hc, "spec", "clusterIPs")
		if (hip != nil && !equal(bip, hip)) || (hips != nil && !equal(bips, hips)) {
			rc.add(RiskImmutableService, k.ID(), id, "spec.clusterIP changes from %v to %v (immutable)%s", orNone(bip), orNone(hip), recreate)
		}
	}
}

func orNone(v any) any {
	if v == nil {
		return "(assigned by the cluster)"
	}
	return v
}

// unpromoted flags a change whose result differs from what main gives the
// cluster.
func (rc *riskCollector) unpromoted(ks string, od *ObjectDiff, hi, mi map[fluxbuild.ObjectID]located, noMain bool) {
	h, inHead := hi[od.id]
	m, inMain := mi[od.id]
	switch {
	case noMain:
		rc.add(RiskUnpromoted, ks, od.id, "main does not run this cluster at all")
	case inHead != inMain:
		state := "main does not have it"
		if inMain {
			state = "main still has it"
		}
		rc.add(RiskUnpromoted, ks, od.id, "%s here, but %s: the change was never on main", od.Change, state)
	case inHead && !equal(clean(h.obj.Content), clean(m.obj.Content)):
		rc.add(RiskUnpromoted, ks, od.id, "%s here, and main gives it differently (%s): the change was never on main", od.Change, strings.Join(changedFields(clean(m.obj.Content), clean(h.obj.Content), 3), ", "))
	}
}

// dependencies flags dependsOn changes, missing dependencies, cycles and
// broken stage chains in head.
func (rc *riskCollector) dependencies(base, head *fluxbuild.Cluster) {
	reach := func(c *fluxbuild.Cluster, from, to string) bool {
		seen := map[string]bool{}
		var walk func(id string) bool
		walk = func(id string) bool {
			k := c.Kustomization(id)
			if k == nil || seen[id] {
				return false
			}
			seen[id] = true
			for _, d := range k.DependsOn {
				if d == to || walk(d) {
					return true
				}
			}
			return false
		}
		return walk(from)
	}
	// chainPrev returns the previous stage of a stage Kustomization in the
	// same FleioDeployment, if the cluster has it.
	chainPrev := func(c *fluxbuild.Cluster, k *fluxbuild.Kustomization) *fluxbuild.Kustomization {
		i := slices.Index(generator.Stages, k.Labels[fluxbuild.StageLabel])
		inst := k.Labels[fluxbuild.InstanceLabel]
		if i <= 0 || inst == "" {
			return nil
		}
		for j := i - 1; j >= 0; j-- {
			for _, o := range c.Kustomizations {
				if o.Namespace == k.Namespace && o.Labels[fluxbuild.InstanceLabel] == inst && o.Labels[fluxbuild.StageLabel] == generator.Stages[j] {
					return o
				}
			}
		}
		return nil
	}
	problem := func(c *fluxbuild.Cluster, k *fluxbuild.Kustomization) string {
		if c == nil || k == nil {
			return ""
		}
		var missing []string
		for _, d := range k.DependsOn {
			if c.Kustomization(d) == nil {
				missing = append(missing, d)
			}
		}
		if len(missing) > 0 {
			return fmt.Sprintf("dependsOn %s, which does not exist: it never becomes ready", strings.Join(missing, ", "))
		}
		if reach(c, k.ID(), k.ID()) {
			return "its dependsOn forms a cycle: it never becomes ready"
		}
		if prev := chainPrev(c, k); prev != nil && !reach(c, k.ID(), prev.ID()) {
			return fmt.Sprintf("the stage chain is broken: it no longer waits for %s", prev.ID())
		}
		return ""
	}
	for _, hk := range head.Kustomizations {
		var bk *fluxbuild.Kustomization
		if base != nil {
			bk = base.Kustomization(hk.ID())
		}
		if p := problem(head, hk); p != "" {
			if problem(base, bk) != p {
				rc.add(RiskDependency, hk.ID(), fluxbuild.ObjectID{}, "%s", p)
			}
			continue
		}
		if bk != nil {
			b, h := slices.Clone(bk.DependsOn), slices.Clone(hk.DependsOn)
			sort.Strings(b)
			sort.Strings(h)
			if !slices.Equal(b, h) {
				rc.add(RiskDependency, hk.ID(), fluxbuild.ObjectID{}, "dependsOn changes from [%s] to [%s]: the apply order changes", strings.Join(b, ", "), strings.Join(h, ", "))
			}
		}
	}
}
