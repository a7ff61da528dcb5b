package generator

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Problem is one thing wrong with the specs, located at a file, line and
// field path.
type Problem struct {
	File    string
	Line    int
	Field   string
	Message string
}

// String formats the problem as "file:line: field: message", on one line:
// a character that is not printable (a newline, an escape sequence, a
// bidirectional override), which a file name or a mapping key in the specs
// may hold, is written as a Go escape (\n, \x1b, \u202e), so that no spec
// can forge another problem's line or drive the terminal.
func (p Problem) String() string {
	var b strings.Builder
	writePrintable(&b, p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Field != "" {
		writePrintable(&b, p.Field)
		b.WriteString(": ")
	}
	writePrintable(&b, p.Message)
	return b.String()
}

// writePrintable writes s with every rune that unicode.IsPrint refuses
// (other than a space), and every invalid byte, escaped as strconv.Quote
// would.
func writePrintable(b *strings.Builder, s string) {
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(b, `\x%02x`, s[0])
		case unicode.IsPrint(r) || r == ' ':
			b.WriteString(s[:size])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		s = s[size:]
	}
}

// Problems is every problem found in one run. It is an error whose message
// lists them one per line, in file, line and field order.
type Problems []Problem

// Error lists the problems one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func (ps Problems) sorted() Problems {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		return a.Message < b.Message
	})
	// Drop exact duplicates (the same reference checked from two places).
	out := ps[:0]
	for i, p := range ps {
		if i > 0 && p == ps[i-1] {
			continue
		}
		out = append(out, p)
	}
	return out
}
