package main

import (
	"maps"
	"strings"
	"testing"

	"github.com/fleiogen/fleiogen/generator"
)

// TestSyntheticFleetIsValid: the fleet make bench renders passes
// validation, so that a new check on the specs cannot break the benchmark
// unnoticed. 25 deployments span a partly filled tenant.
func TestSyntheticFleetIsValid(t *testing.T) {
	dir := t.TempDir()
	if err := writeFleet(dir, 25); err != nil {
		t.Fatal(err)
	}
	specs, err := generator.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := generator.Validate(specs)
	if err != nil {
		t.Fatalf("the synthetic fleet is refused:\n%v", err)
	}
	if got := len(m.Deployments); got != 25 {
		t.Errorf("got %d FleioDeployments, want 25", got)
	}
}

// TestMeminfo reads the figures machineState prints from /proc/meminfo's
// format, in KiB, and skips lines it cannot read.
func TestMeminfo(t *testing.T) {
	m := meminfo(strings.NewReader("MemTotal:       24683724 kB\nMemFree:         3015876 kB\nbroken line\nHugePages_Total:       0\nCached:         20912340 kB\n"))
	want := map[string]int64{"MemTotal": 24683724, "MemFree": 3015876, "HugePages_Total": 0, "Cached": 20912340}
	if !maps.Equal(m, want) {
		t.Errorf("meminfo = %v, want %v", m, want)
	}
}
