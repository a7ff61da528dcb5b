package review

import (
	"regexp"
	"sort"
	"strings"

	"github.com/fleiogen/fleiogen/generator"
)

// Masked replaces secret values in diffs, so that a pull-request comment
// or a CI log never repeats them.
const Masked = "***"

// literalValue reports whether an env value or setting is a literal a
// credential could be, rather than empty or a reference ($(VAR), ${VAR}).
func literalValue(v string) bool {
	v = strings.TrimSpace(v)
	if v == "" || v == Masked {
		return false
	}
	if (strings.HasPrefix(v, "$(") && strings.HasSuffix(v, ")")) || (strings.HasPrefix(v, "${") && strings.HasSuffix(v, "}")) {
		return false
	}
	return true
}

// An assignment is a line of a configuration text (Python settings, JSON,
// YAML, an env file) that sets a credential-looking name to a literal.
type assignment struct {
	Line       int // 1-based
	Name       string
	start, end int // the value's byte offsets in the line
}

var (
	// NAME = 'value', "name": "value", name: 'value' (with an optional
	// trailing comma or comment).
	quotedAssign = regexp.MustCompile(`^\s*['"]?([A-Za-z_][A-Za-z0-9_.\-]*)['"]?\s*[:=]\s*(?:'([^']+)'|"([^"]+)")\s*,?\s*(?:#.*)?$`)
	// NAME=value, name: value: a bare word of credential characters only,
	// so that code (os.environ['X'], f(x)) never matches.
	bareAssign = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*[:=]\s*([A-Za-z0-9+/=_\-.!@%^&*~]{6,})\s*$`)
	privateKey = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----`)
)

// credentialAssignments returns the lines of text that assign a literal to
// a credential-looking name.
func credentialAssignments(text string) []assignment {
	var out []assignment
	for i, line := range strings.Split(text, "\n") {
		if m := quotedAssign.FindStringSubmatchIndex(line); m != nil {
			name := line[m[2]:m[3]]
			start, end := m[4], m[5]
			if start < 0 {
				start, end = m[6], m[7]
			}
			if generator.CredentialName(name) && literalValue(line[start:end]) {
				out = append(out, assignment{Line: i + 1, Name: name, start: start, end: end})
			}
			continue
		}
		if m := bareAssign.FindStringSubmatchIndex(line); m != nil {
			name := line[m[2]:m[3]]
			if generator.CredentialName(name) && literalValue(line[m[4]:m[5]]) && !isKeyword(line[m[4]:m[5]]) {
				out = append(out, assignment{Line: i + 1, Name: name, start: m[4], end: m[5]})
			}
		}
	}
	return out
}

// isKeyword reports whether a bare value is a language constant rather
// than a credential.
func isKeyword(v string) bool {
	switch strings.ToLower(v) {
	case "none", "null", "true", "false", "disabled", "enabled", "changeme":
		return true
	}
	return false
}

// maskText replaces the values of credential assignments and private key
// blocks in a configuration text.
func maskText(text string) string {
	as := credentialAssignments(text)
	if len(as) == 0 && !privateKey.MatchString(text) {
		return text
	}
	lines := strings.Split(text, "\n")
	sort.Slice(as, func(i, j int) bool { return as[i].Line < as[j].Line })
	for _, a := range as {
		l := lines[a.Line-1]
		lines[a.Line-1] = l[:a.start] + Masked + l[a.end:]
	}
	inKey := false
	for i, l := range lines {
		switch {
		case privateKey.MatchString(l):
			inKey = true
		case inKey && strings.HasPrefix(strings.TrimSpace(l), "-----END "):
			inKey = false
		case inKey:
			lines[i] = Masked
		}
	}
	return strings.Join(lines, "\n")
}
