package generator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// viaJSONYAML is the reference the direct encoder is held to: the whole
// object through encoding/json, parsed, and written by the node writer.
func viaJSONYAML(obj any, prune bool) (string, error) {
	c := &converter{intern: map[string]string{}}
	c.reset(prune)
	var out bytes.Buffer
	c.out = &out
	root, err := c.viaJSON(obj)
	if err != nil {
		return "", err
	}
	if err := c.document(root); err != nil {
		return "", err
	}
	return out.String(), nil
}

// sameAsJSON checks that obj encodes, and exactly as through encoding/json.
func sameAsJSON(t *testing.T, what string, obj any) {
	t.Helper()
	for _, prune := range []bool{false, true} {
		want, werr := viaJSONYAML(obj, prune)
		if werr != nil {
			t.Fatalf("%s: encoding/json fails: %v", what, werr)
		}
		var got bytes.Buffer
		if err := convert(&got, obj, prune); err != nil {
			t.Errorf("%s (prune %v): %v", what, prune, err)
			continue
		}
		if diff := cmp.Diff(want, got.String()); diff != "" {
			t.Errorf("%s (prune %v): direct encoding differs from encoding/json's (-json +direct):\n%s", what, prune, diff)
		}
	}
}

// failsAsJSON checks that obj is an error, as it is for encoding/json.
func failsAsJSON(t *testing.T, what string, obj any) {
	t.Helper()
	if _, err := viaJSONYAML(obj, false); err == nil {
		t.Fatalf("%s: encoding/json does not fail", what)
	}
	var got bytes.Buffer
	if err := convert(&got, obj, false); err == nil {
		t.Errorf("%s: no error; encoding/json gives one", what)
	}
}

// TestDirectEncodingMatchesJSON decodes every object of every rendered
// tree into its typed struct and checks that the direct encoder writes it
// exactly as the encoding/json path does.
func TestDirectEncodingMatchesJSON(t *testing.T) {
	n := 0
	for name, tree := range allTrees(t) {
		for _, f := range tree.files {
			if !strings.HasSuffix(f.Path, ".yaml") {
				continue
			}
			for i, doc := range splitDocs(f.Data) {
				var obj any
				if filepath.Base(f.Path) == "kustomization.yaml" {
					obj = &kusttypes.Kustomization{}
				} else {
					var tm struct{ APIVersion, Kind string }
					if err := yaml.Unmarshal(doc, &tm); err != nil {
						t.Fatal(err)
					}
					mk, ok := typed[tm.APIVersion+"/"+tm.Kind]
					if !ok {
						t.Fatalf("%s: no typed struct for %s", f.Path, tm.Kind)
					}
					obj = mk()
				}
				if err := yaml.Unmarshal(doc, obj); err != nil {
					t.Fatal(err)
				}
				sameAsJSON(t, fmt.Sprintf("%s: %s document %d", name, f.Path, i), obj)
				n++
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d objects compared", n)
	}
}

type textKey struct{ a, b string }

func (k textKey) MarshalText() ([]byte, error) { return []byte(k.a + "/" + k.b), nil }

type ptrMarshaler struct{ V string }

func (p *ptrMarshaler) MarshalJSON() ([]byte, error) { return json.Marshal("ptr:" + p.V) }

type zeroByMethod struct{ N int }

func (z zeroByMethod) IsZero() bool { return z.N < 0 }

type Inner struct {
	A string `json:"a,omitempty"`
	B int    `json:"b"`
}

type clash struct {
	Inner
	A string `json:"a"`
}

type embeddedPtr struct {
	*Inner
	C string `json:"c"`
}

type odd struct {
	Num      int                                       `json:"num,string"`
	F        float64                                   `json:"f"`
	F32      float32                                   `json:"f32,omitempty"`
	Bytes    []byte                                    `json:"bytes"`
	Arr      [3]int                                    `json:"arr"`
	ByteArr  [2]byte                                   `json:"byteArr"`
	IntKeys  map[int]string                            `json:"intKeys"`
	TextKeys map[textKey]int                           `json:"textKeys"`
	Named    map[corev1.ResourceName]resource.Quantity `json:"named"`
	Ptr      ptrMarshaler                              `json:"ptr"`
	PtrList  []ptrMarshaler                            `json:"ptrList"`
	PtrMap   map[string]ptrMarshaler                   `json:"ptrMap"`
	Zero     zeroByMethod                              `json:"zero,omitzero"`
	ZeroPtr  *zeroByMethod                             `json:"zeroPtr,omitzero"`
	When     metav1.Time                               `json:"when,omitempty,omitzero"`
	Port     intstr.IntOrString                        `json:"port"`
	Any      any                                       `json:"any"`
	NilAny   any                                       `json:"nilAny"`
	NilList  []string                                  `json:"nilList"`
	Empty    []string                                  `json:"empty"`
	NilMap   map[string]string                         `json:"nilMap"`
	EmptyMap map[string]string                         `json:"emptyMap"`
	Skip     string                                    `json:"-"`
	Dash     string                                    `json:"-,"`
	NoTag    string
	Inner    `json:"inner"`
	U8       uint8  `json:"u8"`
	I64      int64  `json:"i64"`
	Bad      string `json:"bad"`
	hidden   string
}

// TestDirectEncodingHostileValues covers what the rendered types do not:
// every case where the direct encoder hands over to encoding/json, and
// strings encoding/json rewrites.
type Deep struct {
	X string   `json:"x,omitempty"`
	N int32    `json:"n,omitempty"`
	P *int     `json:"p,omitempty"`
	L []string `json:"l,omitempty"`
}

type Mid struct {
	Pad string `json:"pad,omitempty"`
	Deep
}

type Outer struct {
	Name string `json:"name"`
	B    bool   `json:"b,omitempty"`
	Mid
}

func TestDirectEncodingHostileValues(t *testing.T) {
	o := odd{
		Num: 7, F: 1e21, F32: 0.1, Bytes: []byte("\x00bin"), Arr: [3]int{1, 2, 3}, ByteArr: [2]byte{1, 2},
		IntKeys: map[int]string{10: "a", 9: "b"}, TextKeys: map[textKey]int{{"x", "y"}: 1, {"a", "b"}: 2},
		Named: corev1.ResourceList{"memory": resource.MustParse("1Gi"), "cpu": resource.MustParse("250m")},
		Ptr:   ptrMarshaler{"p"}, PtrList: []ptrMarshaler{{"l"}}, PtrMap: map[string]ptrMarshaler{"k": {"m"}},
		Zero: zeroByMethod{-1}, ZeroPtr: &zeroByMethod{-2}, Port: intstr.FromString("http"),
		Any: map[string]any{"n": 1.5, "s": []any{"x", nil, true}}, Empty: []string{}, EmptyMap: map[string]string{},
		Skip: "no", Dash: "dash", NoTag: "notag", Inner: Inner{A: "in", B: 2}, U8: 255, I64: -1 << 62,
		Bad: "bad \xff\xfe utf8 \xe2\x82", hidden: "no",
	}
	sameAsJSON(t, "odd value", o)
	sameAsJSON(t, "odd pointer", &o)
	sameAsJSON(t, "odd in a list", []any{o, &o})
	sameAsJSON(t, "name clash", clash{Inner: Inner{A: "inner", B: 1}, A: "outer"})
	sameAsJSON(t, "embedded pointer, nil", embeddedPtr{C: "c"})
	sameAsJSON(t, "embedded pointer", &embeddedPtr{Inner: &Inner{A: "a"}, C: "c"})
	// Fields promoted through two levels of embedding, at offsets other
	// than zero, read in memory to skip empty ones.
	seven := 7
	nested := []Outer{
		{Name: "o", Mid: Mid{Deep: Deep{X: "x", N: 3, P: &seven, L: []string{"l"}}}},
		{Name: "p", B: true, Mid: Mid{Pad: "pad"}},
		{Mid: Mid{Deep: Deep{N: -1}}},
	}
	sameAsJSON(t, "nested embedding", nested)
	sameAsJSON(t, "nested embedding, by pointer", &nested[0])
	sameAsJSON(t, "nested embedding, not addressable", map[string]Outer{"k": nested[0]})
	sameAsJSON(t, "time", map[string]any{"t": metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), "d": metav1.Duration{Duration: time.Minute}})
	sameAsJSON(t, "invalid UTF-8 keys", map[string]string{"k\xff": "v\xc0", "a": "\xed\xa0\x80"})
	sameAsJSON(t, "deployment", &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "d", Labels: map[string]string{"b": "2", "a": "1"}},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{ContainerPort: 80}}, Resources: corev1.ResourceRequirements{
				Limits: corev1.ResourceList{"cpu": resource.MustParse("1")}}}},
			Volumes: []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		}}},
	})
	failsAsJSON(t, "a channel", map[string]any{"ch": make(chan int)})
	failsAsJSON(t, "a bad IntOrString", map[string]any{"x": intstr.IntOrString{Type: 7}})
	// The types whose MarshalJSON the encoder does itself.
	q := resource.MustParse("1000m")
	sameAsJSON(t, "fast types", map[string]any{
		"q": q, "qp": &q, "nilq": (*resource.Quantity)(nil), "milli": *resource.NewMilliQuantity(1500, resource.DecimalSI),
		"bin": *resource.NewQuantity(3*1024*1024, resource.BinarySI), "zero": resource.Quantity{},
		"int": intstr.FromInt32(8080), "str": intstr.FromString("http\xff"), "neg": intstr.FromInt32(-1),
		"d": metav1.Duration{Duration: 90 * time.Second}, "dp": &metav1.Duration{}, "nild": (*metav1.Duration)(nil),
		"list": []any{resource.MustParse("2Gi"), intstr.FromString("x")},
	})
}
