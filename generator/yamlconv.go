package generator

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// encodeYAML serialises obj as block-style YAML, writing what encoding/json
// would (json tags, omitempty, custom marshalers). The direct writer
// (yamlwrite.go) writes Go values in one pass; what it leaves to
// encoding/json is parsed into nodes, which this file writes. Object keys keep the order encoding/json gives
// (struct order; sorted for maps), except that the top level starts with
// apiVersion, kind and metadata and drops status, and that the empty fields
// listed in zeroStructs are left out. Strings with line breaks become
// literal blocks, so scripts and settings read as written.
// TestYAMLRoundTrip checks that the result decodes to the same JSON.
func encodeYAML(obj any) ([]byte, error) {
	var b bytes.Buffer
	err := convert(&b, obj, false)
	return b.Bytes(), err
}

// converters are reused: their buffers, nodes and interned strings make
// the next conversion allocate little.
var converters = sync.Pool{New: func() any { return &converter{intern: map[string]string{}} }}

// convert appends obj as YAML to out. On error, out may hold part of it.
func convert(out *bytes.Buffer, obj any, prune bool) error {
	c := converters.Get().(*converter)
	defer converters.Put(c)
	c.reset(prune)
	c.out = out
	defer func() { c.out = nil }()
	c.top = true
	if _, err := c.write(reflect.ValueOf(obj), 0, false); err != nil {
		return fmt.Errorf("serialising %T: %w", obj, err)
	}
	return nil
}

// node is a parsed JSON value: an object (keys and vals), an array (vals),
// a string (str), or a literal kept as its JSON text (raw).
type node struct {
	kind byte // '{', '[', '"', or 0 for literals
	keys []string
	vals []*node
	str  string
	raw  []byte
}

type converter struct {
	out   *bytes.Buffer
	prune bool
	// top: the next value written is the document (yamlwrite.go); segs
	// are its members, scratch the room to reorder them.
	top     bool
	segs    []segment
	scratch []byte
	// in and pos are the JSON being parsed (see viaJSON).
	in  []byte
	pos int
	// slabs hold the nodes; used counts the nodes handed out. Nodes (and
	// the capacity of their keys and vals) are reused by the next document.
	slabs [][]node
	used  int
	// intern maps short strings (keys, names, labels) to one copy.
	intern map[string]string
}

const slabSize = 256

func (c *converter) reset(prune bool) {
	c.in, c.pos, c.prune, c.top = nil, 0, prune, false
	for i := 0; i < c.used; i++ {
		n := &c.slabs[i/slabSize][i%slabSize]
		clear(n.vals)
		*n = node{keys: n.keys[:0], vals: n.vals[:0]}
	}
	c.used = 0
	if len(c.intern) > 1<<14 {
		clear(c.intern)
	}
}

func (c *converter) newNode(kind byte) *node {
	if c.used/slabSize == len(c.slabs) {
		c.slabs = append(c.slabs, make([]node, slabSize))
	}
	n := &c.slabs[c.used/slabSize][c.used%slabSize]
	c.used++
	n.kind = kind
	return n
}

// text returns raw as a string, one copy per distinct short string.
func (c *converter) text(raw []byte) string {
	if len(raw) > 64 {
		return string(raw)
	}
	if s, ok := c.intern[string(raw)]; ok {
		return s
	}
	s := string(raw)
	c.intern[s] = s
	return s
}

// zeroStructs are fields that Kubernetes' Go types always serialise, as
// {} when unset, where {} means the same as leaving the field out; they are
// left out when empty. (Not every {} is noise: emptyDir: {} and
// selfSigned: {} mean something, so this is a list, not a rule.)
var zeroStructs = map[string]bool{"strategy": true, "resources": true, "metadata": true, "loadBalancer": true}

// topOrder are the top-level keys written first, in this order.
var topOrder = []string{"apiVersion", "kind", "metadata", "resources"}

// document writes root as a document (see order for its top level).
func (c *converter) document(root *node) error {
	return c.value(root, 0, false, true)
}

// parse reads one JSON value (encoding/json's compact output).
func (c *converter) parse() (*node, error) {
	switch c.peek() {
	case '{':
		n := c.newNode('{')
		c.pos++
		if c.peek() == '}' {
			c.pos++
			return n, nil
		}
		for {
			key, err := c.str()
			if err != nil {
				return nil, err
			}
			if c.peek() != ':' {
				return nil, c.errorf("expected ':'")
			}
			c.pos++
			v, err := c.parse()
			if err != nil {
				return nil, err
			}
			if !c.dropped(key, nodeShape(v)) {
				n.keys = append(n.keys, key)
				n.vals = append(n.vals, v)
			}
			switch c.peek() {
			case ',':
				c.pos++
			case '}':
				c.pos++
				return n, nil
			default:
				return nil, c.errorf("expected ',' or '}'")
			}
		}
	case '[':
		n := c.newNode('[')
		c.pos++
		if c.peek() == ']' {
			c.pos++
			return n, nil
		}
		for {
			v, err := c.parse()
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, v)
			switch c.peek() {
			case ',':
				c.pos++
			case ']':
				c.pos++
				return n, nil
			default:
				return nil, c.errorf("expected ',' or ']'")
			}
		}
	case '"':
		s, err := c.str()
		n := c.newNode('"')
		n.str = s
		return n, err
	default: // number, true, false, null
		start := c.pos
		for c.pos < len(c.in) && c.in[c.pos] != ',' && c.in[c.pos] != ']' && c.in[c.pos] != '}' {
			c.pos++
		}
		if start == c.pos {
			return nil, c.errorf("expected a value")
		}
		n := c.newNode(0)
		n.raw = c.in[start:c.pos]
		return n, nil
	}
}

// value writes n. afterKey says the cursor is just after "key:" on the
// same line; otherwise it is just after a list item's "- ", or at the start
// of a document (top). Objects are written as the direct writer writes
// them (begin, startMember, keep, end).
func (c *converter) value(n *node, indent int, afterKey, top bool) error {
	switch n.kind {
	case '{':
		o := c.begin(indent, afterKey, top)
		for i, key := range n.keys {
			if o.skip(key) {
				continue
			}
			mark := c.startMember(&o, key)
			if err := c.value(n.vals[i], o.indent, true, false); err != nil {
				return err
			}
			if err := c.keep(&o, mark, key, nodeShape(n.vals[i])); err != nil {
				return err
			}
		}
		c.end(&o)
		return nil
	case '[':
		if len(n.vals) == 0 {
			c.literal("[]", afterKey)
			return nil
		}
		if afterKey {
			c.out.WriteByte('\n')
		}
		for i, v := range n.vals {
			if i > 0 || afterKey {
				c.pad(indent)
			}
			c.out.WriteString("- ")
			if err := c.value(v, indent+2, false, false); err != nil {
				return err
			}
		}
		return nil
	case '"':
		c.writeString(n.str, indent, afterKey)
		return nil
	default:
		c.sep(afterKey)
		c.out.Write(n.raw)
		c.out.WriteByte('\n')
		return nil
	}
}

// maxKey keeps keys under YAML's limit of 1024 characters for implicit keys.
const maxKey = 1000

// keyOK refuses keys over maxKey.
func keyOK(k string) error {
	if len(k) > maxKey {
		return fmt.Errorf("a key of %d characters is over YAML's limit for keys", len(k))
	}
	return nil
}

const spaces = "                                                                "

func (c *converter) pad(n int) {
	for n > len(spaces) {
		c.out.WriteString(spaces)
		n -= len(spaces)
	}
	c.out.WriteString(spaces[:n])
}

func (c *converter) scalar(s string) {
	if plainOK(s) {
		c.out.WriteString(s)
		return
	}
	c.out.Write(strconv.AppendQuote(c.out.AvailableBuffer(), s))
}

func (c *converter) peek() byte {
	if c.pos >= len(c.in) {
		return 0
	}
	return c.in[c.pos]
}

func (c *converter) errorf(msg string) error {
	return fmt.Errorf("JSON to YAML at byte %d: %s", c.pos, msg)
}

// str reads a JSON string.
func (c *converter) str() (string, error) {
	if c.peek() != '"' {
		return "", c.errorf("expected a string")
	}
	start := c.pos
	c.pos++
	escaped := false
	for c.pos < len(c.in) {
		// Jump to the next quote or backslash.
		rest := c.in[c.pos:]
		q := bytes.IndexByte(rest, '"')
		if q < 0 {
			break
		}
		if b := bytes.IndexByte(rest[:q], '\\'); b >= 0 {
			escaped = true
			c.pos += b + 2
			continue
		}
		c.pos += q + 1
		raw := c.in[start:c.pos]
		if !escaped {
			return c.text(raw[1 : len(raw)-1]), nil
		}
		return unescapeJSON(raw[1 : len(raw)-1])
	}
	c.pos = len(c.in)
	return "", c.errorf("unterminated string")
}

// unescapeJSON decodes the body of a JSON string that encoding/json wrote.
func unescapeJSON(b []byte) (string, error) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] >= utf8.RuneSelf {
			// As encoding/json reads it: invalid UTF-8 becomes U+FFFD.
			r, size := utf8.DecodeRune(b[i:])
			out = utf8.AppendRune(out, r)
			i += size - 1
			continue
		}
		if b[i] != '\\' {
			out = append(out, b[i])
			continue
		}
		i++
		if i >= len(b) {
			return "", fmt.Errorf("JSON to YAML: bad escape at the end of a string")
		}
		switch b[i] {
		case '"', '\\', '/':
			out = append(out, b[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(b, i+1)
			if !ok {
				return "", fmt.Errorf("JSON to YAML: bad \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok := rune(0), false
				if i+2 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
					r2, ok = hex4(b, i+3)
				}
				if d := utf16.DecodeRune(r, r2); ok && d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", fmt.Errorf("JSON to YAML: bad escape \\%c", b[i])
		}
	}
	return string(out), nil
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// special reports whether a plain scalar s could be read as something other
// than a string: a boolean or null word (YAML 1.1 or 1.2), or anything that
// starts like a number (after a sign) and holds only characters numbers,
// dates and times are made of. It errs on the side of quoting.
func special(s string) bool {
	switch s[0] {
	case 'y', 'Y', 'n', 'N', 't', 'T', 'f', 'F', 'o', 'O', '~':
		if len(s) > 5 {
			return false // not a number either
		}
		var lower [5]byte
		for i := 0; i < len(s); i++ {
			lower[i] = s[i] | 0x20 // ASCII letters to lower case; others no word holds
		}
		switch string(lower[:len(s)]) {
		case "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~":
			return true
		}
		return false
	}
	t := s
	if t[0] == '+' || t[0] == '-' {
		t = t[1:]
	}
	if t == "" {
		return false
	}
	if t[0] == '.' && len(t) == 4 && (strings.EqualFold(t, ".inf") || strings.EqualFold(t, ".nan")) {
		return true
	}
	if !(t[0] >= '0' && t[0] <= '9' || t[0] == '.') {
		return false
	}
	for i := 0; i < len(t); i++ {
		if !numberByte[t[i]] {
			return false
		}
	}
	return true
}

// numberByte marks the bytes numbers, dates and times are made of.
var numberByte = func() (t [256]bool) {
	for _, c := range "0123456789abcdefABCDEF_:.+-xXoOTtZz " {
		t[c] = true
	}
	return t
}()

// plainByte marks the bytes that never need a look at their neighbours in
// a plain scalar: letters, digits and a few punctuation marks.
var plainByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-_./=+()~^$;<>?!@%&*'\"|` " {
		t[c] = true
	}
	return t
}()

func plainOK(s string) bool {
	if s == "" || special(s) {
		return false
	}
	switch s[0] {
	case '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ' ', '\t', '.':
		return false
	}
	if s[len(s)-1] == ' ' || s[len(s)-1] == ':' {
		return false
	}
	for i := 0; i < len(s); i++ {
		r := s[i]
		if plainByte[r] {
			continue
		}
		if r < 0x20 || r >= 0x7f { // control characters and non-ASCII
			return false
		}
		switch r {
		case '#':
			if i > 0 && s[i-1] == ' ' {
				return false
			}
		case ':':
			if i+1 < len(s) && (s[i+1] == ' ' || s[i+1] == ',' || s[i+1] == '[' || s[i+1] == ']' || s[i+1] == '{' || s[i+1] == '}') {
				return false
			}
		case ',', '[', ']', '{', '}':
			// Allowed in block context, but keep flow indicators quoted so
			// the output never depends on the context rules.
			return false
		}
	}
	return true
}

// literalBlock writes a multi-line string as a literal block scalar when
// that reads back exactly: printable text, no carriage returns, a first line
// that does not start with a space, at most one final newline. It reports
// whether it wrote s.
func (c *converter) literalBlock(s string, indent int) bool {
	if strings.IndexByte(s, '\n') < 0 || s[0] == ' ' || s[0] == '\t' || s[0] == '\n' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b >= 0x20 && b < 0x7f || b == '\n' || b == '\t' {
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || !unicode.IsPrint(r) || r == '\u2028' || r == '\u2029' || r == '\ufeff' {
			return false
		}
		i += size - 1
	}
	body := s
	header := "|-\n"
	switch {
	case len(s) >= 2 && s[len(s)-2:] == "\n\n":
		return false
	case s[len(s)-1] == '\n':
		header = "|\n"
		body = s[:len(s)-1]
	}
	c.out.WriteString(header)
	for len(body) > 0 || header != "" {
		header = ""
		line := body
		if i := strings.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = ""
		}
		if len(line) > 0 {
			c.pad(indent + 2)
			c.out.WriteString(line)
		}
		c.out.WriteByte('\n')
	}
	return true
}
