package generator

import (
	"os"
	"testing"
)

// BenchmarkRender measures load, validate and render (no disk writes) of
// the specs in $FLEIOGEN_BENCH_SPECS (make them with
// go run ./hack/bench -n 1000 -write-specs DIR).
func BenchmarkRender(b *testing.B) {
	dir := os.Getenv("FLEIOGEN_BENCH_SPECS")
	if dir == "" {
		b.Skip("set FLEIOGEN_BENCH_SPECS")
	}
	for i := 0; i < b.N; i++ {
		specs, err := LoadDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		m, err := Validate(specs)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Render(m); err != nil {
			b.Fatal(err)
		}
	}
}
