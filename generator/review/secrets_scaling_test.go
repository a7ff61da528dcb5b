package review

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// adversarialInputs are texts built to make a scanner that rescans what
// it has read slow: each repeats a unit that starts a credential value the
// scanner must look past, to size bytes.
func adversarialInputs(size int) []struct{ name, text string } {
	rep := func(unit string) string { return strings.Repeat(unit, size/len(unit)+1)[:size] }
	return []struct{ name, text string }{
		{"json unclosed lists", rep(`{"password":[`)},
		{"call keyword arguments", rep(`f(password=`)},
		{"unclosed brackets", rep(`PASSWORD = [[[[`)},
		{"quoted keys", rep(`'password': `)},
		{"deep brackets", "PASSWORD = " + strings.Repeat("[", size/2) + "'x'" + strings.Repeat("]", size/2)},
		{"nested closed lists", strings.Repeat(`{'password': [`, size/28) + "'x'" + strings.Repeat(`]}`, size/28)},
		{"many quotes", rep(`"`)},
		{"escaped quotes", `"` + rep(`\"`)},
		{"escaped triple quotes", rep(`'''\`)},
		{"flags", rep(`--password= `)},
		{"flags no spaces", rep(`--password=`)},
		{"shell substitutions", "X=" + strings.Repeat("$(password=", size/11) + strings.Repeat(")", size/11)},
		{"long line", rep("abcdefgh ")},
		{"indented names", strings.Repeat(" ", size/2) + rep("password=x ")[:size/2]},
		{"yaml lines", rep("password: x\n")},
		{"keys over lines", rep("password: [\n")},
		{"json deep", strings.Repeat(`{"a":`, 9000) + `"x"` + strings.Repeat(`}`, 9000)},
	}
}

func BenchmarkMaskAdversarial(b *testing.B) {
	for _, in := range adversarialInputs(1 << 20) {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.text)))
			for b.Loop() {
				maskText(in.text)
			}
		})
	}
}

// TestMaskScaling checks that masking takes time linear in the size of
// the text, for texts built to defeat that: it times 128 KiB and 512 KiB
// of each (the best of a few runs) and requires less than 8 times the
// time for 4 times the text (linear is about 4, quadratic 16). How fast
// is BenchmarkMaskAdversarial's to say.
func TestMaskScaling(t *testing.T) {
	// Timings belong in benchmarks (BenchmarkMaskAdversarial): on a loaded
	// machine a ratio of times can fail without a bug. Run it on purpose.
	if os.Getenv("FLEIOGEN_TIMING_TESTS") == "" {
		t.Skip("times masking: set FLEIOGEN_TIMING_TESTS=1 to run it")
	}
	small, large := adversarialInputs(128<<10), adversarialInputs(512<<10)
	for i := range small {
		t.Run(small[i].name, func(t *testing.T) {
			ts, tl := minTime(small[i].text), minTime(large[i].text)
			if r := float64(tl) / float64(ts); r >= 8 {
				t.Errorf("128 KiB in %v, 512 KiB in %v: %.1f times the time for 4 times the text", ts, tl, r)
			}
		})
	}
}

// minTime is the shortest of a few times masking text.
func minTime(text string) time.Duration {
	best := time.Duration(-1)
	for range 5 {
		runtime.GC() // not the garbage of the run before
		start := time.Now()
		maskText(text)
		if d := time.Since(start); best < 0 || d < best {
			best = d
		}
	}
	return max(best, time.Microsecond)
}
