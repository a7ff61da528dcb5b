// Command bench measures "fleiogen render" as users run it: a whole process
// on a synthetic fleet of N FleioDeployments across 3 clusters. For each N
// it reports wall time, CPU time (user and system) and peak resident memory
// (from the child's rusage), the files and bytes written, and the same for
// a re-render with no spec change. The "write" line is the floor the file
// system sets: generator.Write putting the same files, already in memory,
// into an empty directory, in this process.
//
//	go run ./hack/bench -fleiogen bin/fleiogen -n 10,100,1000,10000
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fleiogen/fleiogen/generator"
)

func main() {
	bin := flag.String("fleiogen", "bin/fleiogen", "fleiogen binary to measure")
	ns := flag.String("n", "10,100,1000,10000", "comma-separated fleet sizes")
	runs := flag.Int("runs", 3, "runs per measurement; the median is reported")
	specsOnly := flag.String("write-specs", "", "only write the synthetic specs of the first N into this directory")
	flag.Parse()
	if *specsOnly != "" {
		n, err := strconv.Atoi(strings.Split(*ns, ",")[0])
		if err != nil {
			fail(err)
		}
		if err := writeFleet(*specsOnly, n); err != nil {
			fail(err)
		}
		return
	}
	if !spreadSubdirs(os.TempDir()) {
		fmt.Fprintf(os.Stderr, "note: could not mark %s as a top directory (chattr +T); runs minutes after a mass deletion under it may measure ext4's inode allocator rather than fleiogen (docs/bench.md)\n", os.TempDir())
	}
	fmt.Printf("machine: %s\n", machineState())
	fmt.Printf("%-7s %-6s %9s %8s %8s %10s %9s %11s %9s\n", "N", "run", "wall", "user", "sys", "peak RSS", "files", "bytes", "written")
	var works []string
	for _, s := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fail(err)
		}
		work, err := os.MkdirTemp("", "fleiogen-bench-")
		if err != nil {
			fail(err)
		}
		specs := filepath.Join(work, "specs")
		if err := writeFleet(specs, n); err != nil {
			fail(err)
		}
		var full, again []result
		for r := 0; r < *runs; r++ {
			// Each full render starts with an empty output directory and
			// an empty render cache, as a first render does; its re-render
			// uses the cache it filled.
			out := filepath.Join(work, fmt.Sprintf("out-%d", r))
			cache := filepath.Join(work, fmt.Sprintf("cache-%d", r))
			full = append(full, measure(*bin, specs, out, cache))
			again = append(again, measure(*bin, specs, out, cache))
		}
		files, size := treeSize(filepath.Join(work, "out-0"))
		print(n, "full", median(full), files, size)
		print(n, "again", median(again), files, size)
		print(n, "write", writeFloor(filepath.Join(work, "out-0"), filepath.Join(work, "floor")), files, size)
		// Removed at the end, not now: ext4 allocates inodes slowly for a
		// few minutes after mass deletions, which would slow the next N.
		works = append(works, work)
	}
	for _, w := range works {
		os.RemoveAll(w)
	}
	settle()
}

type result struct {
	wall, user, sys time.Duration
	rssKiB          int64
	written         string
}

// writeFloor reads the tree under from into memory and times
// generator.Write putting it into the empty directory to.
func writeFloor(from, to string) result {
	var files []generator.File
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(from, p)
		files = append(files, generator.File{Path: filepath.ToSlash(rel), Data: data})
		return err
	})
	if err != nil {
		fail(err)
	}
	settle()
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	st, err := generator.Write(to, files)
	if err != nil {
		fail(err)
	}
	wall := time.Since(start)
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	return result{wall: wall, user: tvDiff(after.Utime, before.Utime), sys: tvDiff(after.Stime, before.Stime), written: strconv.Itoa(st.Written)}
}

func tvDiff(a, b syscall.Timeval) time.Duration {
	return time.Duration(a.Nano() - b.Nano())
}

// settle flushes dirty data to disk before a timed run, so that the
// write-back of the previous run's files does not compete with it, and so
// that ext4 does not treat inodes freed earlier as recently deleted for
// longer than it must (it waits longer while their inode table has not been
// written back; see the note on ext4 in docs/bench.md).
func settle() { syscall.Sync() }

func measure(bin, specs, out, cache string) result {
	settle()
	cmd := exec.Command(bin, "render", specs, "-o", out)
	cmd.Env = append(os.Environ(), "FLEIOGEN_CACHE="+cache)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fail(fmt.Errorf("%v: %s", err, stderr.String()))
	}
	wall := time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	user, sys := cmd.ProcessState.UserTime(), cmd.ProcessState.SystemTime()
	written := "?"
	if f := strings.Fields(stderr.String()); len(f) > 5 {
		written = f[5] // "rendered N files into OUT: W written, ..."
	}
	return result{wall: wall, user: user, sys: sys, rssKiB: ru.Maxrss, written: written}
}

func median(rs []result) result {
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			if rs[j].wall < rs[i].wall {
				rs[i], rs[j] = rs[j], rs[i]
			}
		}
	}
	return rs[len(rs)/2]
}

func print(n int, kind string, r result, files int, size int64) {
	rss := "-"
	if r.rssKiB > 0 {
		rss = fmt.Sprintf("%.1f MiB", float64(r.rssKiB)/1024)
	}
	fmt.Printf("%-7d %-6s %8.3fs %7.2fs %7.2fs %10s %9d %11d %9s\n", n, kind, r.wall.Seconds(), r.user.Seconds(), r.sys.Seconds(), rss, files, size, r.written)
}

func treeSize(root string) (int, int64) {
	var files int
	var size int64
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				files++
				size += info.Size()
			}
		}
		return nil
	})
	return files, size
}

// writeFleet writes a Fleet with 3 clusters (staging, and two production
// clusters) and n FleioDeployments spread over n/10+1 tenant namespaces.
func writeFleet(dir string, n int) error {
	tenants := (n + 9) / 10
	var names []string
	for i := 0; i < tenants; i++ {
		names = append(names, fmt.Sprintf("tenant-%04d", i))
	}
	list := "[" + strings.Join(names, ", ") + "]"
	fleet := fmt.Sprintf(`apiVersion: fleiogen.io/v1alpha1
kind: Fleet
metadata: {name: bench}
spec:
  repository: {url: "https://git.example.com/fleet.git"}
  clusters:
    - {name: staging, environment: staging, branch: main, domain: staging.example.com, tenants: %[1]s}
    - {name: prod-a, environment: production, branch: prod, domain: a.example.com, tenants: %[1]s}
    - {name: prod-b, environment: production, branch: prod, domain: b.example.com, tenants: %[1]s}
  environments:
    - name: staging
      hostTemplate: "{name}.{namespace}.{clusterDomain}"
      acme: {email: ops@example.com}
    - name: production
      hostTemplate: "{name}.{clusterDomain}"
      acme: {email: ops@example.com}
      replicas: {backend: 2, web: 2}
`, list)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "fleet.yaml"), []byte(fleet), 0o644); err != nil {
		return err
	}
	for t := 0; t < tenants; t++ {
		var b strings.Builder
		ns := names[t]
		// Each deployment has a database and a Redis database of its own
		// (fleiogen refuses two on one): its own connections, on servers
		// shared by the tenant.
		for i := t * 10; i < n && i < (t+1)*10; i++ {
			if i > t*10 {
				b.WriteString("---\n")
			}
			fmt.Fprintf(&b, `apiVersion: k8s.fleio.com/v1
kind: FleioDbConnection
metadata: {name: db-%05[1]d, namespace: %[2]s}
spec: {hostname: db.example.com, port: 3306, credentialsSecret: db, databaseName: fleio_%05[1]d}
---
apiVersion: k8s.fleio.com/v1
kind: FleioRedisConnection
metadata: {name: redis-%05[1]d, namespace: %[2]s}
spec: {hostname: redis-%[2]s.example.com, port: 6379, credentialsSecret: redis, databaseId: "%[3]d"}
---
apiVersion: k8s.fleio.com/v1
kind: FleioDeployment
metadata: {name: fleio-%05[1]d, namespace: %[2]s}
spec:
  version: 2025.06.1
  license: {uuid: lic-%05[1]d}
  databaseConnection: db-%05[1]d
  redisConnection: redis-%05[1]d
  adminCredentialsSecret: admin
  domain: fleio-%05[1]d.example.com
  enableBackups: %[4]v
`, i, ns, i-t*10, i%2 == 0)
		}
		if err := os.WriteFile(filepath.Join(dir, ns+".yaml"), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
