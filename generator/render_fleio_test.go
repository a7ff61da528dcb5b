package generator

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestPyTemplateFuncShortcuts: the "py" template function's shortcuts
// for strings, integers and booleans give what the JSON round trip gives.
func TestPyTemplateFuncShortcuts(t *testing.T) {
	for _, v := range []any{"", "plain", "it's", `back\slash`, "new\nline\ttab\r", "${VAR} $$", "ünï \u2028", "bad \xff utf8", "\x00\x7f",
		0, -7, 1 << 40, int32(-3), int64(9), true, false} {
		got, err := pyTemplateFunc(v)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(v)
		lit, err := pythonLiteral(raw)
		if err != nil {
			t.Fatal(err)
		}
		if want := escapeVars(lit); got != want {
			t.Errorf("py %#v = %q, through JSON %q", v, got, want)
		}
	}
}

// TestFrontendConfigKeepsNumbers: numbers in frontend settings are written
// as the user wrote them, not rounded through float64.
func TestFrontendConfigKeepsNumbers(t *testing.T) {
	out, err := frontendConfig("https://x", "enduser", map[string]json.RawMessage{"bigId": json.RawMessage(`12345678901234567`), "f": json.RawMessage(`1.50`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"bigId": 12345678901234567`, `"f": 1.50`} {
		if !strings.Contains(out, want) {
			t.Errorf("%s missing from\n%s", want, out)
		}
	}
}
