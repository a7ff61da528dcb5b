package generator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// encodeYAML serialises obj as YAML: encoding/json decides what is written
// (json tags, omitempty, custom marshalers), then one pass turns that JSON
// into block-style YAML. Object keys keep the order encoding/json gives
// (struct order; sorted for maps), except that the top level starts with
// apiVersion, kind and metadata, and drops an empty status. Strings with
// line breaks become literal blocks, so scripts and settings read as
// written. TestYAMLRoundTrip checks that the result decodes to the same
// JSON.
func encodeYAML(obj any) ([]byte, error) {
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		return nil, fmt.Errorf("serialising %T: %w", obj, err)
	}
	c := &converter{in: bytes.TrimSpace(js.Bytes())}
	if err := c.document(); err != nil {
		return nil, fmt.Errorf("serialising %T: %w", obj, err)
	}
	return c.out.Bytes(), nil
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
	in  []byte
	pos int
	out bytes.Buffer
}

// topOrder are the top-level keys written first, in this order.
var topOrder = []string{"apiVersion", "kind", "metadata", "resources"}

func (c *converter) document() error {
	root, err := c.parse()
	if err != nil {
		return err
	}
	if root.kind != '{' {
		return c.value(root, 0, false)
	}
	top := &node{kind: '{'}
	for _, k := range topOrder {
		for i, key := range root.keys {
			if key == k {
				top.keys = append(top.keys, key)
				top.vals = append(top.vals, root.vals[i])
			}
		}
	}
	for i, key := range root.keys {
		v := root.vals[i]
		if contains(topOrder, key) || key == "status" && v.kind == '{' && len(v.keys) == 0 {
			continue
		}
		top.keys = append(top.keys, key)
		top.vals = append(top.vals, v)
	}
	if len(top.keys) == 0 {
		c.out.WriteString("{}\n")
		return nil
	}
	for i := range top.keys {
		if err := c.member(top.keys[i], top.vals[i], 0); err != nil {
			return err
		}
	}
	return nil
}

// parse reads one JSON value (encoding/json's compact output).
func (c *converter) parse() (*node, error) {
	switch c.peek() {
	case '{':
		n := &node{kind: '{'}
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
			n.keys = append(n.keys, key)
			n.vals = append(n.vals, v)
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
		n := &node{kind: '['}
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
		return &node{kind: '"', str: s}, err
	default: // number, true, false, null
		start := c.pos
		for c.pos < len(c.in) && c.in[c.pos] != ',' && c.in[c.pos] != ']' && c.in[c.pos] != '}' {
			c.pos++
		}
		if start == c.pos {
			return nil, c.errorf("expected a value")
		}
		return &node{raw: c.in[start:c.pos]}, nil
	}
}

func (c *converter) member(key string, v *node, indent int) error {
	if err := keyOK(key); err != nil {
		return err
	}
	c.pad(indent)
	c.out.WriteString(scalar(key))
	c.out.WriteByte(':')
	return c.value(v, indent, true)
}

// value writes n. afterKey says the cursor is just after "key:" on the
// same line; otherwise it is just after a list item's "- ".
func (c *converter) value(n *node, indent int, afterKey bool) error {
	sep := func() {
		if afterKey {
			c.out.WriteByte(' ')
		}
	}
	switch n.kind {
	case '{':
		if len(n.keys) == 0 {
			sep()
			c.out.WriteString("{}\n")
			return nil
		}
		ind := indent
		if afterKey {
			c.out.WriteByte('\n')
			ind = indent + 2
		}
		for i, key := range n.keys {
			if !afterKey && i == 0 {
				// First key of a list item: on the "- " line.
				if err := keyOK(key); err != nil {
					return err
				}
				c.out.WriteString(scalar(key))
				c.out.WriteByte(':')
				if err := c.value(n.vals[i], indent, true); err != nil {
					return err
				}
				continue
			}
			if err := c.member(key, n.vals[i], ind); err != nil {
				return err
			}
		}
		return nil
	case '[':
		if len(n.vals) == 0 {
			sep()
			c.out.WriteString("[]\n")
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
			if err := c.value(v, indent+2, false); err != nil {
				return err
			}
		}
		return nil
	case '"':
		sep()
		if block, ok := literalBlock(n.str, indent); ok {
			c.out.WriteString(block)
			return nil
		}
		c.out.WriteString(scalar(n.str))
		c.out.WriteByte('\n')
		return nil
	default:
		sep()
		c.out.Write(n.raw)
		c.out.WriteByte('\n')
		return nil
	}
}

// keyOK refuses keys over YAML's limit of 1024 characters for implicit keys.
func keyOK(k string) error {
	if len(k) > 1000 {
		return fmt.Errorf("a key of %d characters is over YAML's limit for keys", len(k))
	}
	return nil
}

func (c *converter) pad(n int) {
	for i := 0; i < n; i++ {
		c.out.WriteByte(' ')
	}
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
		switch c.in[c.pos] {
		case '\\':
			escaped = true
			c.pos += 2
			continue
		case '"':
			c.pos++
			raw := c.in[start:c.pos]
			if !escaped {
				return string(raw[1 : len(raw)-1]), nil
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", err
			}
			return s, nil
		}
		c.pos++
	}
	return "", c.errorf("unterminated string")
}

// special reports whether a plain scalar s could be read as something other
// than a string: a boolean or null word (YAML 1.1 or 1.2), or anything that
// starts like a number (after a sign) and holds only characters numbers,
// dates and times are made of. It errs on the side of quoting.
func special(s string) bool {
	if len(s) <= 5 {
		switch strings.ToLower(s) {
		case "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~":
			return true
		}
	}
	t := s
	if t[0] == '+' || t[0] == '-' {
		t = t[1:]
	}
	if t == "" {
		return false
	}
	switch strings.ToLower(t) {
	case ".inf", ".nan":
		return true
	}
	if !(t[0] >= '0' && t[0] <= '9' || t[0] == '.') {
		return false
	}
	for i := 0; i < len(t); i++ {
		if !strings.ContainsRune("0123456789abcdefABCDEF_:.+-xXoOTtZz ", rune(t[i])) {
			return false
		}
	}
	return true
}

// scalar writes s as a plain scalar where YAML reads that back as the same
// string, and double-quoted otherwise.
func scalar(s string) string {
	if plainOK(s) {
		return s
	}
	return strconv.Quote(s)
}

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
	for i, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) || r > unicode.MaxASCII {
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
// that does not start with a space, at most one final newline.
func literalBlock(s string, indent int) (string, bool) {
	if !bytes.ContainsRune([]byte(s), '\n') || s[0] == ' ' || s[0] == '\t' || s[0] == '\n' {
		return "", false
	}
	for _, r := range s {
		if r == '\n' || r == '\t' {
			continue
		}
		if r == utf8.RuneError || !unicode.IsPrint(r) || r == '\u2028' || r == '\u2029' || r == '\ufeff' {
			return "", false
		}
	}
	body := s
	header := "|-\n"
	switch {
	case len(s) >= 2 && s[len(s)-2:] == "\n\n":
		return "", false
	case s[len(s)-1] == '\n':
		header = "|\n"
		body = s[:len(s)-1]
	}
	var b bytes.Buffer
	b.WriteString(header)
	pad := bytes.Repeat([]byte(" "), indent+2)
	for _, line := range bytes.Split([]byte(body), []byte("\n")) {
		if len(line) > 0 {
			b.Write(pad)
			b.Write(line)
		}
		b.WriteByte('\n')
	}
	return b.String(), true
}
