package main

import (
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
