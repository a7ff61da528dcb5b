package generator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
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

type converter struct {
	in  []byte
	pos int
	out bytes.Buffer
}

type member struct {
	key        string
	start, end int // the value's bytes in c.in
}

// topOrder are the top-level keys written first, in this order.
var topOrder = []string{"apiVersion", "kind", "metadata", "resources"}

func (c *converter) document() error {
	if c.peek() != '{' {
		return c.value(0, false)
	}
	members, err := c.members()
	if err != nil {
		return err
	}
	ordered := make([]member, 0, len(members))
	for _, k := range topOrder {
		for _, m := range members {
			if m.key == k {
				ordered = append(ordered, m)
			}
		}
	}
	for _, m := range members {
		if contains(topOrder, m.key) {
			continue
		}
		if m.key == "status" && string(c.in[m.start:m.end]) == "{}" {
			continue
		}
		ordered = append(ordered, m)
	}
	if len(ordered) == 0 {
		c.out.WriteString("{}\n")
		return nil
	}
	for _, m := range ordered {
		if err := c.member(m, 0); err != nil {
			return err
		}
	}
	return nil
}

// members reads an object's keys and the extent of each value.
func (c *converter) members() ([]member, error) {
	var out []member
	c.pos++ // {
	if c.peek() == '}' {
		c.pos++
		return out, nil
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
		start := c.pos
		if err := c.skip(); err != nil {
			return nil, err
		}
		out = append(out, member{key: key, start: start, end: c.pos})
		switch c.peek() {
		case ',':
			c.pos++
		case '}':
			c.pos++
			return out, nil
		default:
			return nil, c.errorf("expected ',' or '}'")
		}
	}
}

func (c *converter) member(m member, indent int) error {
	if err := keyOK(m.key); err != nil {
		return err
	}
	c.pad(indent)
	c.out.WriteString(scalar(m.key))
	c.out.WriteByte(':')
	saved := c.pos
	c.pos = m.start
	err := c.value(indent, true)
	c.pos = saved
	return err
}

// value writes the value at c.pos. afterKey says the cursor is just after
// "key:" on the same line.
func (c *converter) value(indent int, afterKey bool) error {
	sep := func() {
		if afterKey {
			c.out.WriteByte(' ')
		}
	}
	switch c.peek() {
	case '{':
		if bytes.HasPrefix(c.in[c.pos:], []byte("{}")) {
			c.pos += 2
			sep()
			c.out.WriteString("{}\n")
			return nil
		}
		members, err := c.members()
		if err != nil {
			return err
		}
		if afterKey {
			c.out.WriteByte('\n')
		}
		for i, m := range members {
			ind := indent
			if afterKey {
				ind = indent + 2
			}
			if !afterKey && i == 0 {
				// First key of a list item: on the "- " line.
				if err := keyOK(m.key); err != nil {
					return err
				}
				c.out.WriteString(scalar(m.key))
				c.out.WriteByte(':')
				saved := c.pos
				c.pos = m.start
				if err := c.value(indent, true); err != nil {
					return err
				}
				c.pos = saved
				continue
			}
			if err := c.member(m, ind); err != nil {
				return err
			}
		}
		return nil
	case '[':
		if bytes.HasPrefix(c.in[c.pos:], []byte("[]")) {
			c.pos += 2
			sep()
			c.out.WriteString("[]\n")
			return nil
		}
		c.pos++
		if afterKey {
			c.out.WriteByte('\n')
		}
		first := true
		for {
			if !first || afterKey {
				c.pad(indent)
			}
			first = false
			c.out.WriteString("- ")
			if err := c.value(indent+2, false); err != nil {
				return err
			}
			switch c.peek() {
			case ',':
				c.pos++
			case ']':
				c.pos++
				return nil
			default:
				return c.errorf("expected ',' or ']'")
			}
		}
	case '"':
		s, err := c.str()
		if err != nil {
			return err
		}
		sep()
		if block, ok := literalBlock(s, indent); ok {
			c.out.WriteString(block)
			return nil
		}
		c.out.WriteString(scalar(s))
		c.out.WriteByte('\n')
		return nil
	default: // number, true, false, null
		start := c.pos
		for c.pos < len(c.in) && !bytes.ContainsRune([]byte(",]}"), rune(c.in[c.pos])) {
			c.pos++
		}
		sep()
		c.out.Write(c.in[start:c.pos])
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

// skip moves past one JSON value.
func (c *converter) skip() error {
	switch c.peek() {
	case '"':
		_, err := c.str()
		return err
	case '{', '[':
		depth := 0
		for c.pos < len(c.in) {
			switch c.in[c.pos] {
			case '"':
				if _, err := c.str(); err != nil {
					return err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					c.pos++
					return nil
				}
			}
			c.pos++
		}
		return c.errorf("unterminated value")
	default:
		for c.pos < len(c.in) && !bytes.ContainsRune([]byte(",]}"), rune(c.in[c.pos])) {
			c.pos++
		}
		return nil
	}
}

var (
	// YAML 1.1 and 1.2 forms that a plain scalar would be read as, other
	// than a string: numbers (with _ and base prefixes, sexagesimal),
	// booleans, nulls, infinities, dates.
	specialScalar = regexp.MustCompile(`^(?i:y|yes|n|no|true|false|on|off|null|~)$|^(?i:[-+]?(0b[01_]+|0o?[0-7_]+|0x[0-9a-f_]+|[0-9][0-9_]*(:[0-5]?[0-9])*|([0-9][0-9_]*)?\.[0-9_]*(e[-+]?[0-9]+)?|[0-9][0-9_]*e[-+]?[0-9]+|\.inf|\.nan))$|^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}`)
)

// mayBeSpecial is a cheap test that rules out most strings before the
// regular expression: every special form starts with a digit, a sign, a
// dot or ~, or is one of the short words.
func mayBeSpecial(s string) bool {
	switch c := s[0]; {
	case c >= '0' && c <= '9', c == '+', c == '-', c == '.', c == '~':
		return true
	}
	return len(s) <= 5
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
	if s == "" || mayBeSpecial(s) && specialScalar.MatchString(s) {
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
