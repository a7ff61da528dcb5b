package generator

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"
)

// TestBackupScriptRetention runs the rendered backup CronJob's script with
// a stand-in python3 (manage.py dbbackup is Fleio's) over a backups
// directory of files of known ages: with backupRetentionDays N, a backup
// more than N days old is deleted, and one younger is kept, whatever the
// fraction of a day (find's -mtime would keep one N days and 23 hours old).
func TestBackupScriptRetention(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	if _, err := exec.LookPath("find"); err != nil {
		t.Skip("no find")
	}
	m, files := renderDir(t, filepath.Join(repoRoot, "examples/fleet"))
	tree := filesMap(files)
	var cron batchv1.CronJob
	var days string
	for _, d := range m.Deployments {
		for _, doc := range splitDocs([]byte(tree["components/fleio/"+d.Namespace+"/"+d.Name+"/app/base/app.yaml"])) {
			if yaml.Unmarshal(doc, &cron) == nil && cron.Kind == "CronJob" {
				break
			}
			cron = batchv1.CronJob{}
		}
		if cron.Name != "" {
			break
		}
	}
	if cron.Name == "" {
		t.Fatal("no example deployment has a backup CronJob")
	}
	c := cron.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
	if len(c.Command) != 3 || c.Command[1] != "-c" {
		t.Fatalf("command %q, the test expects sh -c SCRIPT", c.Command)
	}
	env := os.Environ()
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env = append(env, e.Name+"="+e.Value)
		}
		if e.Name == "RETENTION_DAYS" {
			days = e.Value
		}
	}
	if days != "14" {
		t.Fatalf("RETENTION_DAYS %q, the example asks for 14", days)
	}

	root := t.TempDir()
	script := strings.ReplaceAll(c.Command[2], "/var/webapps/fleio", root)
	if script == c.Command[2] {
		t.Fatal("the script names no /var/webapps/fleio path to move")
	}
	for _, dir := range []string{"project", "backups", "bin"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// manage.py dbbackup writes a new backup.
	python := "#!/bin/sh\n[ \"$*\" = 'manage.py dbbackup --clean' ] || { echo \"unexpected: $*\" >&2; exit 2; }\n: > " + root + "/backups/new.psql.gz\n"
	if err := os.WriteFile(filepath.Join(root, "bin", "python3"), []byte(python), 0o755); err != nil {
		t.Fatal(err)
	}
	env = append(env, "PATH="+filepath.Join(root, "bin")+":"+os.Getenv("PATH"))

	now := time.Now()
	ages := map[string]time.Duration{
		"13d.gz":      13 * 24 * time.Hour,
		"13d23h.gz":   13*24*time.Hour + 23*time.Hour,
		"14d1h.gz":    14*24*time.Hour + time.Hour,
		"14d23h.gz":   14*24*time.Hour + 23*time.Hour,
		"30d.gz":      30 * 24 * time.Hour,
		"a-minute.gz": time.Minute,
	}
	for name, age := range ages {
		p := filepath.Join(root, "backups", name)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(c.Command[0], c.Command[1], script)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("backup script: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(filepath.Join(root, "backups"))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, e := range entries {
		kept = append(kept, e.Name())
	}
	want := []string{"13d.gz", "13d23h.gz", "a-minute.gz", "new.psql.gz"}
	if !slices.Equal(kept, want) {
		t.Errorf("after the backup with RETENTION_DAYS=14 the directory holds %q, want %q", kept, want)
	}
}
