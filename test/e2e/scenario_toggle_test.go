package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// Scenario 9: switching features off and on again. Turning off backups
// (enableBackups) and the utils container (advanced.deployUtilsContainer)
// prunes exactly the backup CronJob and the utils Deployment: the PVCs,
// the database-backups one included (it also serves the pre-upgrade
// backup), and every other object stay as they were. Turning them on again
// brings back exactly those two objects.
func TestFeatureToggles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	fr := newFleetRepo(t)
	cs := fr.Fleet.cluster(t, "staging")
	c, rec, _ := installed(ctx, t, fr, cs)
	d := findDeploy(t, fr.Fleet, "billing", "cloud")
	toggled := []string{
		"CronJob " + d.Namespace + "/fleio-" + d.Name + "-backup",
		"Deployment " + d.Namespace + "/fleio-" + d.Name + "-utils",
	}
	slices.Sort(toggled)

	step := func(what, from, to string, wantAdded, wantRemoved []string) {
		t.Helper()
		before := takeSnapshot(ctx, t, c, cs.Tenants...)
		for _, k := range toggled {
			if _, ok := before[k]; ok == (wantAdded != nil) {
				t.Fatalf("%s: before the change, %s exists: %v", what, k, ok)
			}
		}
		fr.editSpec(t, "billing/fleio.yaml", "enableBackups: "+from, "enableBackups: "+to)
		fr.editSpec(t, "billing/fleio.yaml", "deployUtilsContainer: "+from, "deployUtilsContainer: "+to)
		commit := fr.rerender(t, what)
		t.Logf("%s: files changed by the re-render: %v", what, fr.Repo.ChangedFiles("HEAD~1", "HEAD"))
		if err := c.WaitReady(ctx, 10*time.Minute, commit, allKSs(fr.Fleet, cs)...); err != nil {
			t.Fatalf("%s: %v\ntransitions:\n%s", what, err, rec.Format())
		}
		// Flux deletes pruned objects before it reports Ready; the
		// garbage collector may still be removing their Jobs and pods,
		// which the snapshot does not list.
		after := takeSnapshot(ctx, t, c, cs.Tenants...)
		added, removed, changed, recreated := diffSnapshots(before, after)
		var problems []string
		if !slices.Equal(added, wantAdded) {
			problems = append(problems, fmt.Sprintf("added %v, want %v", added, wantAdded))
		}
		if !slices.Equal(removed, wantRemoved) {
			problems = append(problems, fmt.Sprintf("removed %v, want %v", removed, wantRemoved))
		}
		for _, k := range changed {
			problems = append(problems, fmt.Sprintf("%s changed: %s", k, fieldDiff(before[k].Content, after[k].Content)))
		}
		if len(recreated) > 0 {
			problems = append(problems, fmt.Sprintf("recreated %v", recreated))
		}
		for _, pvc := range []string{"compiled-pvc", "log-pvc", "var-pvc", "database-backups"} {
			if _, ok := after["PersistentVolumeClaim "+d.Namespace+"/fleio-"+d.Name+"-"+pvc]; !ok {
				problems = append(problems, "PersistentVolumeClaim fleio-"+d.Name+"-"+pvc+" is gone")
			}
		}
		if len(problems) > 0 {
			t.Fatalf("%s:\n%s", what, strings.Join(problems, "\n"))
		}
	}
	step("turn off backups and the utils container", "yes", "no", nil, toggled)
	step("turn backups and the utils container on again", "no", "yes", toggled, nil)
}
