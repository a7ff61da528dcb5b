package generator

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// roundTrip checks that encodeYAML(v), read back by sigs.k8s.io/yaml (as
// kustomize and kubectl read it), is the JSON that encoding/json gives for v.
func roundTrip(t *testing.T, v any) {
	t.Helper()
	y, err := encodeYAML(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := yaml.YAMLToJSON(y)
	if err != nil {
		t.Fatalf("output is not YAML: %v\n%s", err, y)
	}
	want, _ := json.Marshal(v)
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(want, &w)
	if diff := cmp.Diff(w, g); diff != "" {
		t.Fatalf("round trip changed the value (-want +got):\n%s\nYAML:\n%s", diff, y)
	}
}

func TestYAMLRoundTrip(t *testing.T) {
	for _, s := range []string{
		"", "plain", "yes", "No", "on", "~", "null", "true", "1", "0x1F", "1e3", "1_000", "1:20", ".inf", "-.5", "2025-06-01",
		"250m", "1Gi", "10m0s", "a: b", "a #b", "#c", "- x", "x,y", "[x]", "{x}", "@x", "`x", "'q'", "\"q\"", " lead", "trail ",
		"multi\nline\n", "multi\nline", "two\n\n", "\n", "\nlead", "  indented\nblock\n", "tab\tx", "a\r\nb", "ünï", "\u2028", "%x",
		"script:\n  if [ \"$X\" ]; then\n\techo ok\n  fi\n", "trailing spaces  \nline  \n", "   \n", "a\n   \nb\n", "x:\n", "k8s.io/name",
	} {
		roundTrip(t, map[string]any{"apiVersion": "v1", "kind": "X", s + "k": s, "list": []any{s, map[string]any{"a": s, "b": []any{s}}, []any{s, 1}}, "nested": map[string]any{"deep": map[string]any{"v": s}}})
	}
	roundTrip(t, map[string]any{"empty": map[string]any{}, "none": []any{}, "null": nil, "num": 1.5, "neg": -3, "t": true})
}

func FuzzYAMLRoundTrip(f *testing.F) {
	for _, s := range []string{"x", "a\nb\n", " y", "0o17", "no"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// YAML limits implicit keys to 1024 characters; JSON turns invalid
		// UTF-8 into 3-byte U+FFFD, so cap the key after that.
		key := []rune(strings.ToValidUTF8(s, "\uFFFD"))
		if len(key) > 300 {
			key = key[:300]
		}
		roundTrip(t, map[string]any{"k": s, "l": []any{s, map[string]any{string(key): s}}})
	})
}

// FuzzUnescapeJSON checks the converter's string decoding against
// encoding/json on every string a JSON document can hold.
func FuzzUnescapeJSON(f *testing.F) {
	for _, s := range []string{`plain`, `a\nb\t\"c\"\\`, `\u00e9\u2028\/`, `\ud83d\ude00`, `\ud83d x`, `\udc00\ud800`, `\b\f\r`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var want string
		if json.Unmarshal([]byte(`"`+body+`"`), &want) != nil {
			return // not a JSON string body
		}
		got, err := unescapeJSON([]byte(body))
		if err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		if got != want {
			t.Fatalf("%q: got %q, encoding/json gives %q", body, got, want)
		}
	})
}

// TestYAMLDropsZeroStructs: fields Kubernetes' types serialise as {} when
// unset are left out, status is never written, and a meaningful {} stays.
func TestYAMLDropsZeroStructs(t *testing.T) {
	y, err := encodeYAML(map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"spec": map[string]any{
			"strategy": map[string]any{},
			"template": map[string]any{
				"metadata": map[string]any{},
				"spec": map[string]any{
					"containers": []any{map[string]any{"name": "c", "resources": map[string]any{}}},
					"volumes":    []any{map[string]any{"name": "tmp", "emptyDir": map[string]any{}}},
				},
			},
		},
		"status": map[string]any{"loadBalancer": map[string]any{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
      - name: c
      volumes:
      - emptyDir: {}
        name: tmp
`
	if diff := cmp.Diff(want, string(y)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	ns, _ := encodeYAML(map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "x"}, "spec": map[string]any{}})
	if strings.Contains(string(ns), "spec") {
		t.Errorf("a Namespace's empty spec is written:\n%s", ns)
	}
}

// TestPatchDropsEmptyValues: in a patch, empty objects and lists and nulls
// are left out, recursively (they would clear the base's fields), and an
// object that only held such values goes too; empty strings and zeros stay.
func TestPatchDropsEmptyValues(t *testing.T) {
	type inner struct {
		List []string         `json:"list"`
		Map  map[string]int   `json:"map"`
		Ptr  *int             `json:"ptr"`
		Any  any              `json:"any"`
		Obj  map[string][]int `json:"obj"`
	}
	zero := 0
	got, err := patchYAML(map[string]any{
		"apiVersion": "v1", "kind": "X",
		"gone":  inner{List: []string{}, Map: map[string]int{}, Obj: map[string][]int{"a": {}}},
		"kept":  inner{Ptr: &zero, List: []string{""}},
		"items": []any{map[string]any{}, nil},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `apiVersion: v1
kind: X
items:
- {}
- null
kept:
  list:
  - ""
  ptr: 0
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestSpecialWords: the words YAML 1.1 or 1.2 reads as booleans, null or
// special floats are quoted, in any letter case; words that only start
// like them are not.
func TestSpecialWords(t *testing.T) {
	for _, s := range []string{"y", "Y", "yes", "YES", "yEs", "n", "No", "on", "ON", "off", "Off", "true", "TRUE", "False", "null", "NULL", "~", ".inf", "-.Inf", "+.INF", ".nan", ".NaN", "12", "-1.5", "0x1F", "2025-06-01"} {
		if !special(s) {
			t.Errorf("special(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"yess", "nope", "tru", "o", "of", "nan", "inf", "~x", "name", "false_", "trueish", ".info", "n0", "Off!", "nul", "yeſ"} {
		if special(s) {
			t.Errorf("special(%q) = true, want false", s)
		}
	}
}
