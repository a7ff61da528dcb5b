package generator

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// This file is how the direct writer (yamlwrite.go) sees Go values, the
// way encoding/json does: json tags, omitempty, omitzero, embedded structs,
// nil versus empty, and which marshaler a type has. The writer writes
// Quantity, IntOrString, metav1.Duration and ResourceList as their
// MarshalJSON does; anything else it does not handle itself (other
// marshalers such as metav1.Time, floats, maps with non-string keys,
// ambiguous or ",string" fields) goes through encoding/json and the JSON
// parser (viaJSON), so the result is always what encoding/json would have
// written. TestDirectEncodingMatchesJSON holds the two paths to the same
// output.

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	zeroer        = reflect.TypeFor[interface{ IsZero() bool }]()
)

// structInfo is how encoding/json writes a struct type.
type structInfo struct {
	fields []fieldInfo
	// docOrder lists the fields in a document's top-level order
	// (topOrder's first), so that a document needs no reordering.
	docOrder []int
	// viaJSON: a case this encoder leaves to encoding/json.
	viaJSON bool
}

type fieldInfo struct {
	name      string
	key       string // name as a YAML key, with its colon
	index     []int
	typ       reflect.Type
	ti        atomic.Pointer[encTypeInfo]
	omitEmpty bool
	omitZero  bool
	isZero    func(reflect.Value) bool
	// offset is the field's offset in the outer struct (embedded structs
	// are never through pointers here); empty says how to see in memory
	// that an omitempty field is empty without reflect.Value.Field, which
	// is the encoder's costliest call on Kubernetes' many empty fields.
	offset uintptr
	empty  emptyCheck
}

// valueOf returns a copy of v, whose type is T, read in place when v is
// addressable: v.Interface() would copy it to the heap first.
func valueOf[T any](v reflect.Value) T {
	if v.CanAddr() {
		return *(*T)(v.Addr().UnsafePointer())
	}
	return v.Interface().(T)
}

// emptyCheck is how emptyAt reads a field's memory.
type emptyCheck uint8

const (
	emptyByReflection emptyCheck = iota // no shortcut: isEmptyValue
	emptyIfNilWord                      // pointer, or the first word of an interface; a map when nil
	emptyIfNoLen                        // slice or string: the length word
	emptyIfZero1                        // bool, (u)int8
	emptyIfZero2
	emptyIfZero4
	emptyIfZero8
)

func emptyCheckOf(t reflect.Type) emptyCheck {
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map:
		return emptyIfNilWord
	case reflect.Slice, reflect.String:
		return emptyIfNoLen
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		switch t.Size() {
		case 1:
			return emptyIfZero1
		case 2:
			return emptyIfZero2
		case 4:
			return emptyIfZero4
		case 8:
			return emptyIfZero8
		}
	}
	return emptyByReflection
}

// emptyAt reports whether the field at p is surely empty as isEmptyValue
// sees it. False may still be empty (a non-nil empty map): the caller then
// asks isEmptyValue.
func emptyAt(p unsafe.Pointer, e emptyCheck) bool {
	switch e {
	case emptyIfNilWord:
		return *(*unsafe.Pointer)(p) == nil
	case emptyIfNoLen:
		return (*(*[2]uintptr)(p))[1] == 0 // a string's length; a slice's too
	case emptyIfZero1:
		return *(*uint8)(p) == 0
	case emptyIfZero2:
		return *(*uint16)(p) == 0
	case emptyIfZero4:
		return *(*uint32)(p) == 0
	case emptyIfZero8:
		return *(*uint64)(p) == 0
	}
	return false
}

// How encoding/json would marshal a type: with a MarshalJSON or
// MarshalText method of the value, or of its address when the value is
// addressable, or by its kind.
const (
	byKind = iota + 1
	addrJSON
	valueJSON
	addrText
	valueText
)

// Types whose MarshalJSON the encoder does itself, and pointers to them.
// TestDirectEncodingHostileValues checks each against its MarshalJSON.
const (
	quantity = iota + 100
	duration
	intOrString
	resourceList
	pointerToFast
)

var fastTypes = map[reflect.Type]int{
	reflect.TypeFor[resource.Quantity]():   quantity,
	reflect.TypeFor[metav1.Duration]():     duration,
	reflect.TypeFor[intstr.IntOrString]():  intOrString,
	reflect.TypeFor[corev1.ResourceList](): resourceList,
}

// encTypeInfo is what encode needs to know about a type. elem caches the
// element type's info of pointers, slices, arrays and maps; struct fields
// cache theirs in fieldInfo: a lookup per value would be the hot path.
type encTypeInfo struct {
	marshal int
	si      *structInfo // for structs
	elem    atomic.Pointer[encTypeInfo]
	// stringMap: a map whose keys and values are plain strings (labels,
	// annotations, data), read without reflection.
	stringMap bool
}

// encTypeInfos caches typeInfoOf: reflect.Type -> *encTypeInfo.
var encTypeInfos sync.Map

var stringMapType = reflect.TypeFor[map[string]string]()

func typeInfoOf(t reflect.Type) *encTypeInfo {
	if ti, ok := encTypeInfos.Load(t); ok {
		return ti.(*encTypeInfo)
	}
	ti := &encTypeInfo{marshal: marshalerOf(t)}
	if m, ok := fastTypes[t]; ok {
		ti.marshal = m
	} else if t.Kind() == reflect.Pointer && fastTypes[t.Elem()] != 0 {
		ti.marshal = pointerToFast
	}
	if t.Kind() == reflect.Struct {
		ti.si = buildStructInfo(t)
	}
	ti.stringMap = t.Kind() == reflect.Map && t.ConvertibleTo(stringMapType) &&
		marshalerOf(t.Key()) == byKind && marshalerOf(t.Elem()) == byKind
	actual, _ := encTypeInfos.LoadOrStore(t, ti)
	return actual.(*encTypeInfo)
}

// marshalerOf is encoding/json's choice for t, in its order: a pointer
// method first, JSON before text. (addr* also stands for a type with both
// a pointer and a value method; encode checks.)
func marshalerOf(t reflect.Type) int {
	m := byKind
	byAddr := t.Kind() != reflect.Pointer
	switch {
	case byAddr && reflect.PointerTo(t).Implements(jsonMarshaler):
		m = addrJSON
	case t.Implements(jsonMarshaler):
		m = valueJSON
	case byAddr && reflect.PointerTo(t).Implements(textMarshaler):
		m = addrText
	case t.Implements(textMarshaler):
		m = valueText
	}
	return m
}

// buildStructInfo lists t's fields in encoding/json's order. Promoted
// fields whose names clash are encoding/json's dominance rules territory:
// such a type is left to encoding/json rather than reimplementing them.
func buildStructInfo(t reflect.Type) *structInfo {
	si := &structInfo{}
	seen := map[string]bool{}
	var walk func(t reflect.Type, index []int, depth int, offset uintptr)
	walk = func(t reflect.Type, index []int, depth int, offset uintptr) {
		if depth > 8 {
			si.viaJSON = true
			return
		}
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if sf.Anonymous {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if !sf.IsExported() && ft.Kind() != reflect.Struct {
					continue
				}
			} else if !sf.IsExported() {
				continue
			}
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(slices.Clip(index), i)
			if name == "" && sf.Anonymous && indirect(sf.Type).Kind() == reflect.Struct {
				if sf.Type.Kind() == reflect.Pointer {
					// A nil embedded pointer hides its fields; rare
					// enough to leave to encoding/json.
					si.viaJSON = true
					return
				}
				walk(sf.Type, idx, depth+1, offset+sf.Offset)
				continue
			}
			if name == "" {
				name = sf.Name
			}
			// A key over YAML's limit is left to the node writer, which refuses it.
			if !validName(name) || len(name) > maxKey || hasOpt(opts, "string") || seen[name] {
				si.viaJSON = true
				return
			}
			seen[name] = true
			si.fields = append(si.fields, fieldInfo{name: name, key: keyText(name), index: idx, typ: sf.Type, omitEmpty: hasOpt(opts, "omitempty"), omitZero: hasOpt(opts, "omitzero"),
				offset: offset + sf.Offset, empty: emptyCheckOf(sf.Type)})
			if f := &si.fields[len(si.fields)-1]; f.omitZero {
				f.isZero = zeroFunc(sf.Type)
			}
		}
	}
	walk(t, nil, 0, 0)
	for _, key := range topOrder {
		for i := range si.fields {
			if si.fields[i].name == key {
				si.docOrder = append(si.docOrder, i)
			}
		}
	}
	for i := range si.fields {
		if !slices.Contains(topOrder, si.fields[i].name) {
			si.docOrder = append(si.docOrder, i)
		}
	}
	return si
}

func indirect(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Pointer {
		return t.Elem()
	}
	return t
}

func hasOpt(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

// validName accepts the tag names Kubernetes types use; anything unusual
// goes to encoding/json, which has the full rules.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '$' || c == '/') {
			return false
		}
	}
	return true
}

// zeroFunc is encoding/json's omitzero test for type t.
func zeroFunc(t reflect.Type) func(reflect.Value) bool {
	type isZeroer = interface{ IsZero() bool }
	switch {
	case t.Kind() == reflect.Interface && t.Implements(zeroer):
		return func(v reflect.Value) bool {
			return v.IsNil() || v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil() || v.Interface().(isZeroer).IsZero()
		}
	case t.Kind() == reflect.Pointer && t.Implements(zeroer):
		return func(v reflect.Value) bool { return v.IsNil() || v.Interface().(isZeroer).IsZero() }
	case t.Implements(zeroer):
		return func(v reflect.Value) bool { return v.Interface().(isZeroer).IsZero() }
	case reflect.PointerTo(t).Implements(zeroer):
		return func(v reflect.Value) bool {
			if !v.CanAddr() {
				v2 := reflect.New(v.Type()).Elem()
				v2.Set(v)
				v = v2
			}
			return v.Addr().Interface().(isZeroer).IsZero()
		}
	}
	return reflect.Value.IsZero
}

// isEmptyValue is encoding/json's omitempty test.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// viaJSON encodes obj with encoding/json and parses the result.
func (c *converter) viaJSON(obj any) (*node, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		return nil, err
	}
	in, pos := c.in, c.pos
	c.in, c.pos = []byte(strings.TrimSpace(b.String())), 0
	n, err := c.parse()
	if err == nil && c.pos != len(c.in) {
		err = c.errorf("trailing data")
	}
	c.in, c.pos = in, pos
	return n, err
}

// validUTF8 is s as encoding/json writes it: each byte of an invalid
// UTF-8 sequence becomes U+FFFD.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
