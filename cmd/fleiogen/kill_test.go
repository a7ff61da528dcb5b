package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// runMainEnv, when set, makes the test binary run fleiogen's main instead
// of the tests, so that a test can start a real fleiogen process.
const runMainEnv = "FLEIOGEN_TEST_RUN_MAIN"

// TestKilledRenderIsCompletedByTheNext kills a real "fleiogen render"
// process at several moments (before, during and after its writes) and
// checks that the next render leaves no temporary file or directory and a
// tree byte for byte equal to a render that was never interrupted. Where
// the kill lands varies from run to run; what is checked holds wherever
// it lands.
func TestKilledRenderIsCompletedByTheNext(t *testing.T) {
	specs := filepath.Join(t.TempDir(), "specs")
	copyDir(t, "../../examples/fleet", specs)
	writeMore := func(dir, version string) {
		var b strings.Builder
		// each deployment on a database and a Redis database of its own
		for i := range 80 {
			fmt.Fprintf(&b, `---
apiVersion: k8s.fleio.com/v1
kind: FleioDeployment
metadata: {name: k%03[1]d, namespace: billing}
spec:
  version: %[2]s
  license: {uuid: lic-%03[1]d}
  databaseConnection: k%03[1]d-db
  redisConnection: k%03[1]d-redis
  adminCredentialsSecret: cloud-admin-credentials
  domain: k%03[1]d.example.com
  enableBackups: %[3]v
---
apiVersion: k8s.fleio.com/v1
kind: FleioDbConnection
metadata: {name: k%03[1]d-db, namespace: billing}
spec: {hostname: mariadb.databases.svc.cluster.local, port: 3306, credentialsSecret: billing-mariadb-credentials, databaseName: k%03[1]d}
---
apiVersion: k8s.fleio.com/v1
kind: FleioRedisConnection
metadata: {name: k%03[1]d-redis, namespace: billing}
spec: {hostname: redis.databases.svc.cluster.local, port: 6379, credentialsSecret: billing-redis-credentials, databaseId: "%[4]d"}
`, i, version, i%2 == 0, i+1)
		}
		if err := os.WriteFile(filepath.Join(dir, "billing", "more.yaml"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeMore(specs, "2025.06.1")
	// the same fleet with every added deployment on a new release
	specsB := filepath.Join(t.TempDir(), "specs")
	copyDir(t, specs, specsB)
	writeMore(specsB, "2025.06.2")

	t.Setenv("FLEIOGEN_CACHE", t.TempDir())
	var want []map[string]string
	var took time.Duration // the longest uninterrupted render
	for _, dir := range []string{specs, specsB} {
		out := filepath.Join(t.TempDir(), "want")
		start := time.Now()
		if code, _, stderr := run("render", "--no-cache", dir, "-o", out); code != ExitOK {
			t.Fatalf("render: exit %d\n%s", code, stderr)
		}
		took = max(took, time.Since(start))
		want = append(want, treeOf(t, out))
	}

	// Kills that left temporaries behind, so cut a render mid-write: if
	// none did, the test proved nothing (on a loaded machine the short
	// delays all land before the first write; the long ones are for it).
	midWrite := 0
	defer func() {
		t.Logf("%d of the kills cut a render mid-write", midWrite)
		if midWrite == 0 && !t.Failed() {
			t.Errorf("no kill cut a render while it wrote (no temporaries were left): what the test checks went unchecked")
		}
	}()
	delays := []time.Duration{0, 20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond, 250 * time.Millisecond,
		400 * time.Millisecond, 700 * time.Millisecond, 1200 * time.Millisecond}
	// On a loaded machine (the other test packages run beside this one)
	// a render takes longer: kill also at fractions of what one took
	// here, past the fixed delays.
	for _, f := range []float64{0.6, 0.8, 0.95} {
		if d := time.Duration(f * float64(took)); d > delays[len(delays)-1] {
			delays = append(delays, d)
		}
	}
	for _, delay := range delays {
		t.Run(delay.String(), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			cache := t.TempDir()
			t.Setenv("FLEIOGEN_CACHE", cache)
			// into an empty directory, then over that tree with every
			// deployment changed, so that both kinds of write (staging
			// directories, files beside their targets) are cut
			for round, dir := range []string{specs, specsB} {
				cmd := exec.Command(os.Args[0], "render", dir, "-o", out)
				cmd.Env = append(os.Environ(), runMainEnv+"=1")
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(delay)
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				if _, err := os.Stat(out); err == nil {
					for p := range treeOf(t, out) {
						if strings.Contains(p, ".fleiogen-") {
							midWrite++
							break
						}
					}
				}

				if code, _, stderr := run("render", dir, "-o", out); code != ExitOK {
					t.Fatalf("round %d: the render after the kill: exit %d\n%s", round, code, stderr)
				}
				got := treeOf(t, out)
				if diff := cmp.Diff(want[round], got); diff != "" {
					t.Errorf("round %d: the tree, temporaries included, differs from an uninterrupted render (-want +got):\n%s", round, diff)
				}
			}
		})
	}
}
