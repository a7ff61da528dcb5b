package generator

import (
	"encoding/base64"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// This file writes YAML straight from Go values, in one pass, as
// encoding/json would see them (yamlenc.go has the type analysis). What
// encoding/json would write, parsed into nodes and written by the node
// writer (yamlconv.go), is the reference: the two must give the same
// bytes. A member is written as it comes; when the object filters
// (zeroStructs, prune) drop it, the output is cut back to where it began.
// Values this writer leaves to encoding/json are parsed into nodes and
// written by the node writer in place.

// shape is what a write produced, as the object filters see it.
type shape uint8

const (
	shapeOther shape = iota
	shapeEmptyObject
	shapeEmptyList
	shapeNull
)

// nodeShape is a node's shape.
func nodeShape(n *node) shape {
	switch {
	case n.kind == '{' && len(n.keys) == 0:
		return shapeEmptyObject
	case n.kind == '[' && len(n.vals) == 0:
		return shapeEmptyList
	case n.kind == 0 && string(n.raw) == "null":
		return shapeNull
	}
	return shapeOther
}

// dropped reports whether the object filters leave out a member named key
// whose value has shape s: in a patch (prune), empty objects and lists and
// nulls, which would clear the base's field; always, the zeroStructs left
// empty. Both writers apply it.
func (c *converter) dropped(key string, s shape) bool {
	return c.prune && s != shapeOther || s == shapeEmptyObject && zeroStructs[key]
}

// keyText is name as a key, with its colon.
func keyText(name string) string {
	if plainOK(name) {
		return name + ":"
	}
	return strconv.Quote(name) + ":"
}

// object is an object being written. Its first member goes on the
// cursor's line (after "- ", or at the start of a document) or, after
// "key:", on a new line; the others on their own lines.
type object struct {
	indent   int // the members'
	afterKey bool
	kept     int
	top      bool // the document's top level
}

func (c *converter) begin(indent int, afterKey, top bool) object {
	if afterKey {
		indent += 2
	}
	if top {
		c.segs = c.segs[:0]
	}
	return object{indent: indent, afterKey: afterKey, top: top}
}

// skip reports whether a member is never written: status at the top level
// is the cluster's to write.
func (o *object) skip(key string) bool {
	return o.top && key == "status"
}

// lead starts a member and returns where it starts.
func (c *converter) lead(o *object) int {
	mark := c.out.Len()
	switch {
	case o.kept > 0:
		c.pad(o.indent)
	case o.afterKey:
		c.out.WriteByte('\n')
		c.pad(o.indent)
	}
	return mark
}

// keep ends a member that began at mark, cutting it when the filters drop
// it; a kept key over YAML's limit is an error.
func (c *converter) keep(o *object, mark int, key string, s shape) error {
	if c.dropped(key, s) {
		c.out.Truncate(mark)
		return nil
	}
	o.kept++
	if o.top {
		c.segs = append(c.segs, segment{key, mark, c.out.Len()})
	}
	return keyOK(key)
}

// end finishes an object: {} when it kept no member. The top level is put
// in document order.
func (c *converter) end(o *object) shape {
	if o.kept == 0 {
		if o.afterKey {
			c.out.WriteByte(' ')
		}
		c.out.WriteString("{}\n")
		return shapeEmptyObject
	}
	if o.top {
		c.order()
	}
	return shapeOther
}

// segment is a top-level member's key and its bytes in c.out.
type segment struct {
	key        string
	start, end int
}

// order puts a document's top-level members in document order:
// topOrder's keys first, and no empty spec in a Namespace (it holds only
// finalizers, which the API server fills in).
func (c *converter) order() {
	segs, out := c.segs, c.out.Bytes()
	text := func(s segment) []byte { return out[s.start:s.end] }
	drop := -1
	for _, s := range segs {
		if s.key == "kind" && string(text(s)) == "kind: Namespace\n" {
			for j, t := range segs {
				if t.key == "spec" && string(text(t)) == "spec: {}\n" {
					drop = j
				}
			}
		}
	}
	rank := func(key string) int {
		if i := slices.Index(topOrder, key); i >= 0 {
			return i
		}
		return len(topOrder)
	}
	sorted := drop < 0
	for i := 1; i < len(segs) && sorted; i++ {
		sorted = rank(segs[i-1].key) <= rank(segs[i].key)
	}
	if sorted {
		return
	}
	start := segs[0].start
	c.scratch = append(c.scratch[:0], out[start:]...)
	c.out.Truncate(start)
	for r := 0; r <= len(topOrder); r++ {
		for i, s := range segs {
			if i != drop && rank(s.key) == r {
				c.out.Write(c.scratch[s.start-start : s.end-start])
			}
		}
	}
}

// writeAs writes v, of static type t whose info is cached in slot. A value
// of interface type is written by its dynamic type.
func (c *converter) writeAs(v reflect.Value, t reflect.Type, slot *atomic.Pointer[encTypeInfo], indent int, afterKey bool) (shape, error) {
	if t.Kind() == reflect.Interface {
		return c.write(v, indent, afterKey)
	}
	ti := slot.Load()
	if ti == nil {
		ti = typeInfoOf(t)
		slot.Store(ti)
	}
	return c.writeWith(v, ti, indent, afterKey)
}

// write writes v at indent. afterKey says the cursor is just after "key:";
// otherwise it is after a list item's "- " or at the start of a document.
func (c *converter) write(v reflect.Value, indent int, afterKey bool) (shape, error) {
	if !v.IsValid() {
		c.top = false
		return c.literal("null", afterKey), nil
	}
	return c.writeWith(v, typeInfoOf(v.Type()), indent, afterKey)
}

// writeWith is write for a v whose type's info is ti. c.top says v is the
// document itself; pointers and interfaces pass that on.
func (c *converter) writeWith(v reflect.Value, ti *encTypeInfo, indent int, afterKey bool) (shape, error) {
	top := c.top
	c.top = false
	t := v.Type()
	switch ti.marshal {
	case quantity:
		q := valueOf[resource.Quantity](v)
		return c.writeString(q.String(), indent, afterKey), nil // what Quantity.MarshalJSON writes
	case duration:
		return c.writeString(time.Duration(v.Field(0).Int()).String(), indent, afterKey), nil // metav1.Duration.MarshalJSON
	case intOrString:
		switch ios := valueOf[intstr.IntOrString](v); ios.Type {
		case intstr.Int:
			return c.integer(int64(ios.IntVal), afterKey), nil
		case intstr.String:
			return c.writeString(ios.StrVal, indent, afterKey), nil
		}
		return c.writeViaJSON(v.Interface(), indent, afterKey, top) // its error
	case resourceList:
		return c.resourceList(v.Interface().(corev1.ResourceList), indent, afterKey, top)
	case pointerToFast:
		if v.IsNil() {
			return c.literal("null", afterKey), nil
		}
		c.top = top
		return c.writeAs(v.Elem(), t.Elem(), &ti.elem, indent, afterKey)
	case addrJSON, addrText:
		if v.CanAddr() {
			return c.writeViaJSON(v.Addr().Interface(), indent, afterKey, top)
		}
		if t.Implements(jsonMarshaler) || t.Implements(textMarshaler) {
			return c.writeViaJSON(v.Interface(), indent, afterKey, top)
		}
	case valueJSON, valueText:
		return c.writeViaJSON(v.Interface(), indent, afterKey, top)
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return c.literal("null", afterKey), nil
		}
		c.top = top
		return c.writeAs(v.Elem(), t.Elem(), &ti.elem, indent, afterKey)
	case reflect.Interface:
		if v.IsNil() {
			return c.literal("null", afterKey), nil
		}
		c.top = top
		return c.write(v.Elem(), indent, afterKey)
	case reflect.String:
		return c.writeString(v.String(), indent, afterKey), nil
	case reflect.Bool:
		if v.Bool() {
			return c.literal("true", afterKey), nil
		}
		return c.literal("false", afterKey), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return c.integer(v.Int(), afterKey), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		c.sep(afterKey)
		c.out.Write(strconv.AppendUint(c.out.AvailableBuffer(), v.Uint(), 10))
		c.out.WriteByte('\n')
		return shapeOther, nil
	case reflect.Struct:
		if ti.si.viaJSON {
			return c.writeViaJSONValue(v, indent, afterKey, top)
		}
		return c.structure(v, ti.si, indent, afterKey, top)
	case reflect.Map:
		if v.IsNil() {
			return c.literal("null", afterKey), nil
		}
		if ti.stringMap {
			if t == stringMapType {
				return c.stringMap(v.Interface().(map[string]string), indent, afterKey, top)
			}
			// Not v.Convert: that copies an addressable map header.
			return c.stringMap(reflect.ValueOf(v.Interface()).Convert(stringMapType).Interface().(map[string]string), indent, afterKey, top)
		}
		kt := t.Key()
		if kt.Kind() != reflect.String || kt.Implements(textMarshaler) || reflect.PointerTo(kt).Implements(textMarshaler) {
			return c.writeViaJSON(v.Interface(), indent, afterKey, top)
		}
		return c.mapping(v, ti, indent, afterKey, top)
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return c.literal("null", afterKey), nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			if v.Kind() == reflect.Array || reflect.PointerTo(t.Elem()).Implements(jsonMarshaler) || reflect.PointerTo(t.Elem()).Implements(textMarshaler) {
				return c.writeViaJSONValue(v, indent, afterKey, top)
			}
			return c.writeString(base64.StdEncoding.EncodeToString(v.Bytes()), indent, afterKey), nil
		}
		n := v.Len()
		if n == 0 {
			return c.literal("[]", afterKey), nil
		}
		if afterKey {
			c.out.WriteByte('\n')
		}
		for i := 0; i < n; i++ {
			if i > 0 || afterKey {
				c.pad(indent)
			}
			c.out.WriteString("- ")
			if _, err := c.writeAs(v.Index(i), t.Elem(), &ti.elem, indent+2, false); err != nil {
				return 0, err
			}
		}
		return shapeOther, nil
	}
	// Floats (encoding/json has its own format), and the kinds it
	// refuses (channels, functions, complex numbers).
	return c.writeViaJSONValue(v, indent, afterKey, top)
}

// structure writes a struct's fields in encoding/json's order.
func (c *converter) structure(v reflect.Value, si *structInfo, indent int, afterKey, top bool) (shape, error) {
	o := c.begin(indent, afterKey, top)
	var base unsafe.Pointer
	if v.CanAddr() {
		base = v.Addr().UnsafePointer()
	}
	for j := range si.fields {
		f := &si.fields[j]
		if top {
			f = &si.fields[si.docOrder[j]]
		}
		if f.omitEmpty && base != nil && emptyAt(unsafe.Add(base, f.offset), f.empty) || o.skip(f.name) {
			continue
		}
		fv := v.FieldByIndex(f.index)
		if f.omitEmpty && isEmptyValue(fv) || f.omitZero && f.isZero(fv) {
			continue
		}
		mark := c.lead(&o)
		c.out.WriteString(f.key)
		s, err := c.writeAs(fv, f.typ, &f.ti, o.indent, true)
		if err == nil {
			err = c.keep(&o, mark, f.name, s)
		}
		if err != nil {
			return 0, err
		}
	}
	return c.end(&o), nil
}

// mapping writes a map with string keys, sorted.
func (c *converter) mapping(v reflect.Value, ti *encTypeInfo, indent int, afterKey, top bool) (shape, error) {
	type entry struct {
		key string
		val reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		entries = append(entries, entry{it.Key().String(), it.Value()})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	o := c.begin(indent, afterKey, top)
	elem := v.Type().Elem()
	for _, e := range entries {
		key := validUTF8(e.key)
		if o.skip(key) {
			continue
		}
		mark := c.startMember(&o, key)
		s, err := c.writeAs(e.val, elem, &ti.elem, o.indent, true)
		if err == nil {
			err = c.keep(&o, mark, key, s)
		}
		if err != nil {
			return 0, err
		}
	}
	return c.end(&o), nil
}

// startMember starts a member of o named key and returns where it starts.
func (c *converter) startMember(o *object, key string) int {
	mark := c.lead(o)
	c.scalar(key)
	c.out.WriteByte(':')
	return mark
}

// stringMap writes a map of plain strings (labels, annotations, data),
// keys sorted, without reflection.
func (c *converter) stringMap(m map[string]string, indent int, afterKey, top bool) (shape, error) {
	return writeStrings(c, m, func(s string) string { return s }, indent, afterKey, top)
}

// resourceList writes requests or limits: a map of Quantities.
func (c *converter) resourceList(m corev1.ResourceList, indent int, afterKey, top bool) (shape, error) {
	if m == nil {
		return c.literal("null", afterKey), nil
	}
	return writeStrings(c, m, func(q resource.Quantity) string { return q.String() }, indent, afterKey, top)
}

// writeStrings writes a map with string keys, sorted, whose values text
// writes as strings.
func writeStrings[K ~string, V any](c *converter, m map[K]V, text func(V) string, indent int, afterKey, top bool) (shape, error) {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	o := c.begin(indent, afterKey, top)
	for _, k := range keys {
		key := validUTF8(string(k))
		if o.skip(key) {
			continue
		}
		mark := c.startMember(&o, key)
		if err := c.keep(&o, mark, key, c.writeString(text(m[k]), o.indent, true)); err != nil {
			return 0, err
		}
	}
	return c.end(&o), nil
}

// sep separates a value from its key.
func (c *converter) sep(afterKey bool) {
	if afterKey {
		c.out.WriteByte(' ')
	}
}

// literal writes null, true, false or [] (the only literals with a
// shape the filters see are null and []).
func (c *converter) literal(text string, afterKey bool) shape {
	c.sep(afterKey)
	c.out.WriteString(text)
	c.out.WriteByte('\n')
	switch text {
	case "null":
		return shapeNull
	case "[]":
		return shapeEmptyList
	}
	return shapeOther
}

func (c *converter) integer(i int64, afterKey bool) shape {
	c.sep(afterKey)
	c.out.Write(strconv.AppendInt(c.out.AvailableBuffer(), i, 10))
	c.out.WriteByte('\n')
	return shapeOther
}

// writeString writes a string: plain when it reads back as the same string, else
// as a literal block or quoted, as encoding/json sees it (invalid UTF-8
// as U+FFFD).
func (c *converter) writeString(s string, indent int, afterKey bool) shape {
	c.sep(afterKey)
	if plainOK(s) { // plain implies ASCII: valid as it is
		c.out.WriteString(s)
		c.out.WriteByte('\n')
		return shapeOther
	}
	s = validUTF8(s)
	if !c.literalBlock(s, indent) {
		c.out.Write(strconv.AppendQuote(c.out.AvailableBuffer(), s))
		c.out.WriteByte('\n')
	}
	return shapeOther
}

// writeViaJSONValue is writeViaJSON for v, through its address when it has
// one, so that pointer-receiver marshalers inside it run as in place.
func (c *converter) writeViaJSONValue(v reflect.Value, indent int, afterKey, top bool) (shape, error) {
	if v.CanAddr() {
		return c.writeViaJSON(v.Addr().Interface(), indent, afterKey, top)
	}
	return c.writeViaJSON(v.Interface(), indent, afterKey, top)
}

// writeViaJSON writes obj as encoding/json encodes it, through the node
// writer.
func (c *converter) writeViaJSON(obj any, indent int, afterKey, top bool) (shape, error) {
	n, err := c.viaJSON(obj)
	if err != nil {
		return 0, err
	}
	return nodeShape(n), c.value(n, indent, afterKey, top)
}
