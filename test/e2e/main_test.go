package e2e

import (
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fleiogen/fleiogen/test/e2e/harness"
)

// bins is set by TestMain: the binaries and CRDs every scenario uses.
var bins *harness.Binaries

func TestMain(m *testing.M) {
	flag.Parse()
	start := time.Now()
	b, err := harness.EnsureBinaries(func(format string, args ...any) { log.Printf(format, args...) })
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: preparing binaries: %v\n", err)
		os.Exit(1)
	}
	log.Printf("e2e: binaries and CRDs ready in %s (cache %s)", time.Since(start).Round(time.Second), harness.CacheDir())
	bins = b
	os.Exit(m.Run())
}

// copyTree copies the files under src into dst.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t testing.TB, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
