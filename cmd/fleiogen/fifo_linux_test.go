package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRenderAndCheckRefuseANamedPipe: a named pipe where a file is
// rendered makes render and check fail at once (exit 3), naming it, rather
// than wait for a writer.
func TestRenderAndCheckRefuseANamedPipe(t *testing.T) {
	out := t.TempDir()
	if code, _, stderr := run("render", "../../examples/fleet", "-o", out); code != ExitOK {
		t.Fatal(stderr)
	}
	pipe := filepath.Join(out, "tenants/billing/sync.yaml")
	if err := syscall.Unlink(pipe); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"render", "check"} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			code, _, stderr := run(cmd, "../../examples/fleet", "-o", out)
			if code != ExitFailure || !strings.Contains(stderr, pipe+": not a regular file: it is a named pipe") {
				t.Errorf("%s: exit %d, want %d and the pipe named:\n%s", cmd, code, ExitFailure, stderr)
			}
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("%s still running after 20 s", cmd)
		}
	}
}
