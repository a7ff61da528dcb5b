package review

import (
	"slices"
	"strings"
	"testing"
)

// Each risk is triggered by a change committed to (or left in the working
// tree of) a copy of examples/fleet. Risks that no spec can cause with this
// generator (it always marks PVCs and forces Jobs, and never sets a
// selector or a clusterIP by hand) are triggered by editing the committed
// rendered tree, which diff --tree compares.

func TestRiskPrune(t *testing.T) {
	r := newFleetRepo(t, false)
	r.edit("specs/billing/fleio.yaml", "enableBackups: yes", "enableBackups: no")
	rep := r.compare("main", "", false, Options{})
	wantRisks(t, rep,
		"prune prod-eu CronJob billing/fleio-cloud-backup",
		"prune staging-1 CronJob billing/fleio-cloud-backup")
}

func TestPruneSparesProtectedObjects(t *testing.T) {
	r := newFleetRepo(t, false)
	// prod-eu stops running the hosting tenant: tenant-hosting and all it
	// applies go, but the Namespace and the PVCs are kept.
	r.edit("specs/fleet.yaml", "domain: prod-eu.example.com\n      tenants: [billing, hosting]", "domain: prod-eu.example.com\n      tenants: [billing]")
	rep := r.compare("main", "", false, Options{})
	var pruned []string
	for _, k := range rep.Risks {
		if k.Name != RiskPrune || k.Cluster != "prod-eu" {
			t.Errorf("unexpected risk %+v", k)
			continue
		}
		pruned = append(pruned, k.Object)
	}
	for _, want := range []string{"Kustomization flux-system/tenant-hosting", "Deployment hosting/fleio-panel-backend", "Job hosting/fleio-panel-setup-database", "ClusterIssuer fleio-panel-acme-issuer"} {
		if !slices.Contains(pruned, want) {
			t.Errorf("no prune risk for %s; got %v", want, pruned)
		}
	}
	var orphaned []string
	for _, c := range rep.Clusters {
		for _, k := range c.Kustomizations {
			for _, o := range k.Objects {
				if o.Change == Orphaned {
					orphaned = append(orphaned, o.Object)
				}
				if strings.HasPrefix(o.Object, "PersistentVolumeClaim") && o.Change == Deleted {
					t.Errorf("%s is protected, yet reported deleted", o.Object)
				}
			}
		}
	}
	for _, want := range []string{"Namespace hosting", "PersistentVolumeClaim hosting/fleio-panel-var-pvc"} {
		if !slices.Contains(orphaned, want) {
			t.Errorf("%s should be orphaned (kept); orphaned: %v", want, orphaned)
		}
	}
}

func TestRiskPruneProtection(t *testing.T) {
	r := newFleetRepo(t, true)
	r.editObject("components/fleio/billing/cloud/config/production/config.yaml", "PersistentVolumeClaim", "fleio-cloud-compiled-pvc", func(o map[string]any) {
		delete(field(o, "metadata", "annotations"), "kustomize.toolkit.fluxcd.io/prune")
	})
	r.commit("drop the prune protection of a PVC")
	wantRisks(t, r.compare("main~1", "main", true, Options{}),
		"prune-protection prod-eu PersistentVolumeClaim billing/fleio-cloud-compiled-pvc")

	// The deployment-keys Secret is created in the cluster; a copy in git
	// makes Flux own it (and carries secret material).
	for _, env := range []string{"production", "staging"} {
		r.editObject("components/fleio/billing/cloud/config/"+env+"/kustomization.yaml", "Kustomization", "", func(o map[string]any) {
			o["resources"] = append(o["resources"].([]any), "keys-secret.yaml")
		})
		writeFile(t, r.dir, "components/fleio/billing/cloud/config/"+env+"/keys-secret.yaml",
			"apiVersion: v1\nkind: Secret\nmetadata:\n  name: fleio-cloud-deployment-keys\n  namespace: billing\nstringData:\n  secretKey: 6c1f0e9a2b7d4c3e8f5a1b2c3d4e5f6a\n")
	}
	rep := r.compare("main", "", true, Options{})
	wantRisks(t, rep,
		"prune-protection prod-eu Secret billing/fleio-cloud-deployment-keys",
		"prune-protection staging-1 Secret billing/fleio-cloud-deployment-keys",
		"secret prod-eu Secret billing/fleio-cloud-deployment-keys",
		"secret staging-1 Secret billing/fleio-cloud-deployment-keys")
	if md := markdown(t, rep); strings.Contains(md, "6c1f0e9a2b7d") {
		t.Error("the report repeats the secret value")
	}
}

func TestRiskImmutableJob(t *testing.T) {
	r := newFleetRepo(t, true)
	// A release upgrade changes every Job's template; fleiogen forces them,
	// so nothing is flagged...
	r.edit("specs/billing/fleio.yaml", "version: 2025.06.1", "version: 2025.07.0")
	r.render()
	wantRisks(t, r.compare("main", "", true, Options{}))
	// ...unless a Job loses its force annotation.
	r.editObject("components/fleio/billing/cloud/database/job.yaml", "Job", "fleio-cloud-setup-database", func(o map[string]any) {
		delete(field(o, "metadata", "annotations"), "kustomize.toolkit.fluxcd.io/force")
	})
	wantRisks(t, r.compare("main", "", true, Options{}),
		"immutable-job prod-eu Job billing/fleio-cloud-setup-database",
		"immutable-job staging-1 Job billing/fleio-cloud-setup-database")
	// ...which a Kustomization with spec.force covers too.
	r.editObject("tenants/billing/fleio-cloud.yaml", "Kustomization", "fleio-cloud-database", func(o map[string]any) {
		field(o, "spec")["force"] = true
	})
	wantRisks(t, r.compare("main", "", true, Options{}))
}

func TestRiskImmutableSelector(t *testing.T) {
	r := newFleetRepo(t, true)
	r.editObject("components/fleio/billing/cloud/app/base/app.yaml", "Deployment", "fleio-cloud-backend", func(o map[string]any) {
		field(o, "spec", "selector", "matchLabels")["app.kubernetes.io/component"] = "api"
	})
	wantRisks(t, r.compare("main", "", true, Options{}),
		"immutable-selector prod-eu Deployment billing/fleio-cloud-backend",
		"immutable-selector staging-1 Deployment billing/fleio-cloud-backend")
}

func TestRiskImmutablePVC(t *testing.T) {
	r := newFleetRepo(t, false)
	// Growing a volume is allowed where the class allows it: flagged, not
	// immutable.
	r.edit("specs/fleet.yaml", "compiled: 4Gi", "compiled: 8Gi")
	grow := r.compare("main", "", false, Options{})
	wantRisks(t, grow,
		"pvc-resize prod-eu PersistentVolumeClaim billing/fleio-cloud-compiled-pvc",
		"pvc-resize prod-eu PersistentVolumeClaim hosting/fleio-panel-compiled-pvc")
	if !strings.Contains(messages(grow), "the size grows from 4Gi to 8Gi") {
		t.Errorf("no size growth in the messages:\n%s", messages(grow))
	}
	r.edit("specs/fleet.yaml", "compiled: 8Gi", "compiled: 4Gi")
	// Another storage class and a smaller backups volume are not.
	r.edit("specs/fleet.yaml", "className: fast-ssd", "className: premium-ssd")
	r.edit("specs/fleet.yaml", "databaseBackups: 100Gi", "databaseBackups: 50Gi")
	var want []string
	for _, d := range []string{"billing/fleio-cloud", "hosting/fleio-panel"} {
		for _, v := range []string{"compiled-pvc", "log-pvc", "var-pvc", "database-backups"} {
			want = append(want, "immutable-pvc prod-eu PersistentVolumeClaim "+d+"-"+v)
		}
	}
	rep := r.compare("main", "", false, Options{})
	wantRisks(t, rep, want...)
	if !strings.Contains(messages(rep), "the size decreases from 100Gi to 50Gi") {
		t.Errorf("no size decrease in the messages:\n%s", messages(rep))
	}
}

func TestRiskImmutableService(t *testing.T) {
	r := newFleetRepo(t, true)
	r.editObject("components/fleio/billing/cloud/app/base/app.yaml", "Service", "fleio-cloud-backend", func(o map[string]any) {
		field(o, "spec")["clusterIP"] = "10.96.0.80"
	})
	wantRisks(t, r.compare("main", "", true, Options{}),
		"immutable-service prod-eu Service billing/fleio-cloud-backend",
		"immutable-service staging-1 Service billing/fleio-cloud-backend")
}

func TestRiskDependency(t *testing.T) {
	r := newFleetRepo(t, false)
	// prod-eu now uses an existing cert-manager: platform-issuers no longer
	// waits for platform-cert-manager, which goes. Its HelmRelease and
	// HelmRepository are protected (prune: disabled), so cert-manager is
	// not uninstalled and they are not flagged.
	r.edit("specs/fleet.yaml", "domain: prod-eu.example.com\n      tenants: [billing, hosting]", "domain: prod-eu.example.com\n      tenants: [billing, hosting]\n      certManager: existing")
	wantRisks(t, r.compare("main", "", false, Options{}),
		"dependency prod-eu flux-system/platform-issuers",
		"prune prod-eu Kustomization flux-system/platform-cert-manager")
}

func TestRiskDependencyBrokenChain(t *testing.T) {
	r := newFleetRepo(t, true)
	r.editObject("tenants/billing/fleio-cloud.yaml", "Kustomization", "fleio-cloud-config", func(o map[string]any) {
		delete(field(o, "spec"), "dependsOn")
	})
	rep := r.compare("main", "", true, Options{})
	wantRisks(t, rep,
		"dependency prod-eu billing/fleio-cloud-config",
		"dependency staging-1 billing/fleio-cloud-config")
	if !strings.Contains(messages(rep), "no longer waits for billing/fleio-cloud-preflight") {
		t.Errorf("messages:\n%s", messages(rep))
	}

	r.git("checkout", "-q", "--", ".")
	r.editObject("tenants/billing/fleio-cloud.yaml", "Kustomization", "fleio-cloud-license", func(o map[string]any) {
		field(o, "spec")["dependsOn"] = []any{map[string]any{"name": "fleio-cloud-db"}}
	})
	rep = r.compare("main", "", true, Options{})
	wantRisks(t, rep,
		"dependency prod-eu billing/fleio-cloud-license",
		"dependency staging-1 billing/fleio-cloud-license")
	if !strings.Contains(messages(rep), "dependsOn billing/fleio-cloud-db, which does not exist") {
		t.Errorf("messages:\n%s", messages(rep))
	}
}

// upgradeHosting moves the example's hosting to 2025.06.1, with its image
// overrides (each of its own release) moved along.
func upgradeHosting(r *fleetRepo) {
	r.edit("specs/hosting/fleio.yaml", "version: 2025.05.2", "version: 2025.06.1")
	for _, svc := range []string{"backend", "frontend", "updated"} {
		r.edit("specs/hosting/fleio.yaml", "fleio_"+svc+"-2025-05", "fleio_"+svc+"-2025-06")
	}
}

func TestRiskUnpromoted(t *testing.T) {
	r := newFleetRepo(t, false)
	r.git("branch", "prod")
	// main moves on: a new release for hosting.
	upgradeHosting(r)
	r.commit("hosting: 2025.06.1")

	// A hotfix straight into prod that main never had.
	r.git("checkout", "-q", "prod")
	r.edit("specs/billing/fleio.yaml", `backupSchedule: "2 * * * *"`, `backupSchedule: "5 * * * *"`)
	r.commit("hotfix: billing backups at :05")
	rep := r.compare("prod~1", "prod", false, Options{Main: r.mainSide("main"), Branch: "prod"})
	wantRisks(t, rep, "unpromoted prod-eu CronJob billing/fleio-cloud-backup")

	// The same release as main, cherry-picked into prod, was on main.
	r.git("reset", "-q", "--hard", "prod~1")
	upgradeHosting(r)
	r.commit("hosting: 2025.06.1 (from main)")
	rep = r.compare("prod~1", "prod", false, Options{Main: r.mainSide("main"), Branch: "prod"})
	wantRisks(t, rep)
	if !rep.Changed() {
		t.Error("the cherry-pick changes prod-eu, yet the report says nothing changes")
	}
	for _, c := range rep.Clusters {
		if c.Name != "prod-eu" {
			t.Errorf("--branch prod kept cluster %s (branch %s)", c.Name, c.Branch)
		}
	}
}

// addPassword hand-edits a password into the rendered settings, as
// someone might in a pull request: validation keeps one out of the specs.
func addPassword(r *fleetRepo) {
	for _, env := range []string{"staging", "production"} {
		r.edit("components/fleio/billing/cloud/config/"+env+"/config.yaml", "    SESSION_COOKIE_AGE = 28800\n", "    SESSION_COOKIE_AGE = 28800\n    EMAIL_HOST_PASSWORD = 'Tr0ub4dor-and-3'\n")
	}
}

func TestRiskSecret(t *testing.T) {
	r := newFleetRepo(t, true)
	// An ordinary setting is not secret material.
	r.edit("specs/billing/fleio.yaml", "DEFAULT_FROM_EMAIL: billing@example.com", "DEFAULT_FROM_EMAIL: noreply@example.com")
	r.render()
	wantRisks(t, r.compare("main", "", true, Options{}))
	addPassword(r)
	rep := r.compare("main", "", true, Options{})
	wantRisks(t, rep,
		"secret prod-eu ConfigMap billing/fleio-cloud-backend-settings",
		"secret staging-1 ConfigMap billing/fleio-cloud-backend-settings")
	md := markdown(t, rep)
	if strings.Contains(md, "Tr0ub4dor") {
		t.Error("the report repeats the password")
	}
	if !strings.Contains(md, "EMAIL_HOST_PASSWORD = '***'") {
		t.Errorf("the diff does not show the masked setting:\n%s", md)
	}
}

func TestNoChange(t *testing.T) {
	r := newFleetRepo(t, false)
	rep := r.compare("main", "", false, Options{})
	if rep.Changed() || len(rep.Risks) > 0 {
		t.Errorf("an unchanged fleet reports changes: %+v", rep)
	}
}

func TestParseRisks(t *testing.T) {
	got, err := ParseRisks("prune, immutable")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{RiskPrune, RiskImmutableJob, RiskImmutableSelector, RiskImmutablePVC, RiskImmutableService} {
		if !got[n] {
			t.Errorf("%s missing from %v", n, got)
		}
	}
	if got[RiskSecret] || len(got) != 5 {
		t.Errorf("got %v", got)
	}
	if _, err := ParseRisks("prune,typo"); err == nil || !strings.Contains(err.Error(), "unknown risk typo") {
		t.Errorf("err = %v", err)
	}
	all, _ := ParseRisks("all")
	if len(all) != len(Risks) {
		t.Errorf("all = %v", all)
	}
}

// TestNewFleetHasNoRisks compares a revision without specs with the whole
// example fleet: everything is added, and nothing in what fleiogen renders
// looks risky (no false credentials, every PVC protected).
func TestNewFleetHasNoRisks(t *testing.T) {
	r := newFleetRepo(t, false)
	r.git("rm", "-rq", "specs")
	r.commit("no specs")
	rep := r.compare("main", "main~1", false, Options{})
	wantRisks(t, rep)
	added := 0
	for _, c := range rep.Clusters {
		if !c.Added {
			t.Errorf("cluster %s should be new", c.Name)
		}
		for _, k := range c.Kustomizations {
			for _, o := range k.Objects {
				if o.Change != Added {
					t.Errorf("%s: %s %s, want added", c.Name, o.Change, o.Object)
				}
				added++
			}
		}
	}
	if added < 100 {
		t.Errorf("only %d objects added", added)
	}
}

// TestRiskBranch: moving a cluster to another branch is flagged, once per
// cluster, on the runtime-info ConfigMap flux bootstrap's sync applies.
func TestRiskBranch(t *testing.T) {
	r := newFleetRepo(t, false)
	r.edit("specs/fleet.yaml", "branch: main", "branch: release")
	rep := r.compare("main", "", false, Options{})
	wantRisks(t, rep, "branch staging-1 ConfigMap flux-system/flux-runtime-info")
	for _, k := range rep.Risks {
		if !strings.Contains(k.Message, "from main to release") || !strings.Contains(k.Message, "--branch=release") {
			t.Errorf("message %q does not say the branches and the bootstrap", k.Message)
		}
	}
}

// TestRiskRekey: a FleioDeployment renamed keeps its database, but gets new
// deployment keys and new volumes; two FleioDeployments that swap
// databases each read the other's with their own keys. A new
// FleioDeployment on a database of its own, or a setup-database Job
// renamed by hand for the same deployment, is no such risk.
func TestRiskRekey(t *testing.T) {
	rekeys := func(rep *Report) (got []string) {
		for _, k := range rep.Risks {
			if k.Name == RiskRekey {
				got = append(got, k.Cluster+" "+k.Object)
			}
		}
		return got
	}
	r := newFleetRepo(t, false)
	r.edit("specs/billing/fleio.yaml", "  name: cloud\n", "  name: cloud2\n")
	rep := r.compare("main", "", false, Options{})
	want := []string{"prod-eu Job billing/fleio-cloud2-setup-database", "staging-1 Job billing/fleio-cloud2-setup-database"}
	if got := rekeys(rep); !slices.Equal(got, want) {
		t.Errorf("rename: rekey risks = %v, want %v", got, want)
	}
	for _, k := range rep.Risks {
		if k.Name == RiskRekey && (!strings.Contains(k.Message, "billing/fleio-cloud-deployment-keys") || !strings.Contains(k.Message, "which billing/cloud used")) {
			t.Errorf("the message does not name the old keys and deployment: %s", k.Message)
		}
	}

	// Swapped databases: both are flagged, on both clusters.
	r = newFleetRepo(t, false)
	r.edit("specs/billing/fleio.yaml", "hostname: mariadb.databases.svc.cluster.local\n  port: 3306", "hostname: panel-db.hosting.svc.cluster.local\n  port: 3307")
	r.edit("specs/billing/fleio.yaml", "databaseName: fleio_billing", "databaseName: fleio")
	r.edit("specs/hosting/fleio.yaml", "hostname: panel-db.hosting.svc.cluster.local\n  port: 3307", "hostname: mariadb.databases.svc.cluster.local\n  port: 3306")
	r.edit("specs/hosting/fleio.yaml", "databaseName: fleio\n", "databaseName: fleio_billing\n")
	want = []string{
		"prod-eu Job billing/fleio-cloud-setup-database", "prod-eu Job hosting/fleio-panel-setup-database",
		"staging-1 Job billing/fleio-cloud-setup-database", "staging-1 Job hosting/fleio-panel-setup-database",
	}
	got := rekeys(r.compare("main", "", false, Options{}))
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("swap: rekey risks = %v, want %v", got, want)
	}

	// Uninstalling one FleioDeployment and installing another on another
	// database is no take-over.
	r = newFleetRepo(t, false)
	r.edit("specs/billing/fleio.yaml", "  name: cloud\n", "  name: cloud2\n")
	r.edit("specs/billing/fleio.yaml", "databaseName: fleio_billing", "databaseName: fleio_billing2")
	if got := rekeys(r.compare("main", "", false, Options{})); len(got) > 0 {
		t.Errorf("a new database is flagged: %v", got)
	}

	// The same deployment's Job under another name (a hand edit of the
	// tree, or a fleiogen that names it differently) is no take-over.
	r = newFleetRepo(t, true)
	r.editObject("components/fleio/billing/cloud/database/job.yaml", "Job", "", func(o map[string]any) {
		field(o, "metadata")["name"] = "fleio-cloud-setup-db"
	})
	r.commit("rename the setup-database Job by hand")
	if got := rekeys(r.compare("main~1", "main", true, Options{})); len(got) > 0 {
		t.Errorf("the same deployment's renamed Job is flagged: %v", got)
	}
}

// TestRiskDowngrade: a FleioDeployment whose spec.version goes back is
// flagged on each cluster that runs it; an upgrade, or a new deployment,
// is not.
func TestRiskDowngrade(t *testing.T) {
	downgrades := func(rep *Report) (got []string) {
		for _, k := range rep.Risks {
			if k.Name == RiskDowngrade {
				got = append(got, k.Cluster+" "+k.Object)
			}
		}
		slices.Sort(got)
		return got
	}
	for _, tc := range []struct {
		version string
		want    []string
	}{
		{"2025.05.3", []string{"prod-eu Job billing/fleio-cloud-setup-database", "staging-1 Job billing/fleio-cloud-setup-database"}},
		{"2024.12.9", []string{"prod-eu Job billing/fleio-cloud-setup-database", "staging-1 Job billing/fleio-cloud-setup-database"}},
		{"2025.06.0", []string{"prod-eu Job billing/fleio-cloud-setup-database", "staging-1 Job billing/fleio-cloud-setup-database"}},
		{"2025.06.2", nil},
		{"2025.07.1", nil},
	} {
		r := newFleetRepo(t, false)
		r.edit("specs/billing/fleio.yaml", "version: 2025.06.1\n", "version: "+tc.version+"\n")
		rep := r.compare("main", "", false, Options{})
		if got := downgrades(rep); !slices.Equal(got, tc.want) {
			t.Errorf("2025.06.1 to %s: downgrade risks = %v, want %v", tc.version, got, tc.want)
		}
		for _, k := range rep.Risks {
			if k.Name == RiskDowngrade && !strings.Contains(k.Message, "goes back from release 2025.06.1 to "+tc.version) {
				t.Errorf("the message does not name both releases: %s", k.Message)
			}
		}
	}

	// A renamed deployment on an older release is a new Job: not flagged
	// (rekey is).
	r := newFleetRepo(t, false)
	r.edit("specs/billing/fleio.yaml", "  name: cloud\n", "  name: cloud2\n")
	r.edit("specs/billing/fleio.yaml", "version: 2025.06.1\n", "version: 2025.05.3\n")
	if got := downgrades(r.compare("main", "", false, Options{})); len(got) > 0 {
		t.Errorf("a renamed deployment is flagged as a downgrade: %v", got)
	}
}

func TestOlderRelease(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"2025.05.3", "2025.06.1", true},
		{"2025.06.1", "2025.06.10", true},
		{"2025.06.10", "2025.06.9", false},
		{"2025.06.1", "2025.06.1", false},
		{"", "2025.06.1", false},
		{"2025.06.1", "x", false},
	} {
		if got := olderRelease(tc.a, tc.b); got != tc.want {
			t.Errorf("olderRelease(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
