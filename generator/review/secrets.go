package review

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/fleiogen/fleiogen/generator"
	"github.com/fleiogen/fleiogen/generator/fluxbuild"
)

// Masked replaces secret values in diffs, so that a pull-request comment
// or a CI log never repeats them.
const Masked = "***"

// Masking works on three levels, each of which hands strings to the next:
//
//   - an object (maskCredentials, walkMask): a Secret's data, literal env
//     values, fields and list elements under credential names, a
//     "--password" argument followed by its value;
//   - a JSON text (maskJSON): a string that holds a JSON object or array
//     (kubectl's last-applied-configuration, a frontend config file) is
//     decoded and masked as an object, and the masked values are written
//     back in place, so that the rest of the text, and the diff, is as it
//     was;
//   - any other text (maskText, through textScanner): Python settings, shell scripts, env files,
//     YAML or INI files, JSON fragments, one argument.
//
// A value is masked whole, quotes and escapes included, so that no part of
// it is ever printed.

// credentialName reports whether a name (a setting, a field, an env
// variable, a command-line flag) holds a credential: generator.CredentialName,
// also for numbered and plural forms of the last word
// (AWS_SECRET_ACCESS_KEY2, apiTokens, FERNET_KEYS; not REQUIRED_SECRET_0,
// an index preflight gives a Secret's name) and for Django's
// SECRET_KEY_FALLBACKS, but not for a key said to be public
// (STRIPE_PUBLISHABLE_KEY, RECAPTCHA_SITE_KEY; PUBLIC_* already is not),
// nor for a last word "key" without a word before it that makes it secret
// (generator.SecretKeyQualifier: topologyKey, SORT_KEY and
// SOCIAL_AUTH_GITHUB_KEY, an OAuth client id, are not credentials).
// The texts validate judges, settings.py and the frontend configuration
// files, are masked by generator.SecretSettingName itself (settingsTexts).
func credentialName(name string) bool {
	words := generator.SplitWords(strings.TrimLeft(name, "-"))
	n := len(words)
	if n == 0 {
		return false
	}
	if w := strings.TrimRightFunc(words[n-1], unicode.IsDigit); w != "" {
		words[n-1] = w
	}
	if w, ok := strings.CutSuffix(words[n-1], "s"); ok && singularCredentialWords[w] {
		words[n-1] = w
	}
	if n > 1 {
		before, last := words[n-2], words[n-1]
		if before == "publishable" || before == "site" && last == "key" {
			return false
		}
	}
	if words[n-1] == "key" && (n == 1 || !generator.SecretKeyQualifier(words[n-2])) {
		return false // topologyKey, SORT_KEY, SOCIAL_AUTH_GITHUB_KEY
	}
	if generator.CredentialName(strings.Join(words, "_")) {
		return true
	}
	for i := 0; i+1 < n; i++ {
		if words[i] == "secret" && words[i+1] == "key" && !slices.Contains(words, "public") {
			return true // SECRET_KEY_FALLBACKS
		}
	}
	return false
}

// singularCredentialWords are credential words whose plural (an "s" more)
// names a list of them.
var singularCredentialWords = map[string]bool{
	"password": true, "passwd": true, "pwd": true, "passphrase": true, "secret": true,
	"token": true, "key": true, "apikey": true, "credential": true, "salt": true,
}

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

// reference matches a value that is only a variable or command reference,
// as shell and Flux write them: $NAME, ${...}, $(...).
var reference = regexp.MustCompile(`^\$(?:[A-Za-z_][A-Za-z0-9_]*|\{[^{}]*\}|\(.*\))$`)

// textLiteral reports whether a value found in a text is a literal: not
// empty, not masked, not a reference.
func textLiteral(v string) bool {
	return literalValue(v) && !reference.MatchString(strings.TrimSpace(v))
}

// isKeyword reports whether a bare value is a language constant rather
// than a credential.
func isKeyword(v string) bool {
	switch strings.ToLower(v) {
	case "none", "null", "true", "false", "disabled", "enabled", "changeme", "~":
		return true
	}
	return false
}

// isNumber reports whether v is a decoded number.
func isNumber(v any) bool {
	switch v.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, json.Number:
		return true
	}
	return false
}

var privateKey = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----`)

// maskCredentials finds plain-text secret material in content (a copy
// from clean, modified in place) and replaces it with Masked: the data of
// a Secret, literal env values with credential-looking names, fields and
// list elements with such names, assignments to them in configuration
// texts and JSON texts, arguments of credential flags, and private key
// blocks.
func maskCredentials(id fluxbuild.ObjectID, content map[string]any) []credential {
	return maskObject(id, content, nameRule{name: credentialName})
}

// A nameRule tells which names hold credentials in a text or an object.
type nameRule struct {
	name func(string) bool
	// texts are other rules for the texts at some paths of the object
	// (a ConfigMap's settings files).
	texts map[string]func(string) bool
}

// at is the rule for a text or value at path p.
func (r nameRule) at(p string) nameRule {
	if t := r.texts[p]; t != nil {
		return nameRule{name: t}
	}
	return nameRule{name: r.name}
}

// settingsTexts are the texts of the settings ConfigMaps fleiogen renders,
// by path, and the rule of generator.SecretSettingName, which validate
// uses for them: settings.py (backend-settings) and the frontend's JSON
// configuration files (frontend-settings, read by browsers). The review
// does not flag what validation accepts as not secret there
// (SOCIAL_AUTH_GOOGLE_OAUTH2_KEY, a frontend mapsApiKey).
var settingsTexts = map[string]map[string]func(string) bool{
	"-backend-settings": {
		"data.settings": func(n string) bool { return generator.SecretSettingName(n, false) },
	},
	"-frontend-settings": {
		"data.enduserConfigFile": func(n string) bool { return generator.SecretSettingName(n, true) },
		"data.staffConfigFile":   func(n string) bool { return generator.SecretSettingName(n, true) },
	},
}

// maskObject is maskCredentials with a rule for names.
func maskObject(id fluxbuild.ObjectID, content map[string]any, rule nameRule) []credential {
	var found []credential
	rule.texts = nil
	if id.Group == "" && id.Kind == "ConfigMap" {
		for suffix, texts := range settingsTexts {
			if strings.HasSuffix(id.Name, suffix) {
				rule.texts = texts
			}
		}
	}
	if id.Group == "" && id.Kind == "Secret" {
		for _, field := range []string{"data", "stringData"} {
			data, _ := content[field].(map[string]any)
			for _, k := range sortedKeys(data) {
				s, _ := data[k].(string)
				found = append(found, credential{Where: fmt.Sprintf("Secret %s key %s", field, k), sum: sum(k + "=" + s)})
				data[k] = Masked
			}
		}
	}
	walkMask(content, "", &found, rule)
	return found
}

func walkMask(v any, path string, found *[]credential, rule nameRule) {
	switch t := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(t) {
			p := joinPath(path, k)
			e := t[k]
			if k == "env" {
				if list, ok := e.([]any); ok {
					maskEnv(list, path, found, rule)
					continue
				}
			}
			if rule.name(k) && maskUnder(t, k, p, found, rule.at(p)) {
				continue
			}
			switch et := e.(type) {
			case string:
				t[k] = maskStringRule(p, et, found, rule.at(p))
			case []any:
				walkList(et, p, found, rule)
			default:
				walkMask(e, p, found, rule)
			}
		}
	case []any:
		walkList(t, path, found, rule)
	}
}

// maskEnv masks the literal values of a container's env variables whose
// names look like credentials.
func maskEnv(list []any, path string, found *[]credential, rule nameRule) {
	for _, item := range list {
		m, _ := item.(map[string]any)
		name, _ := m["name"].(string)
		val, isString := m["value"].(string)
		if isString && rule.name(name) && literalValue(val) {
			*found = append(*found, credential{Where: fmt.Sprintf("env %s (%s)", name, path), sum: sum(name + "=" + val)})
			m["value"] = Masked
		}
	}
}

// maskUnder masks m[k], whose name k looks like a credential: a string, a
// number, the strings and numbers of a list. It reports whether it took
// care of the value; a mapping is left to the caller, which walks it key by
// key (CACHES: {OPTIONS: {PASSWORD: ...}}, as generator.secretsInside
// does), and so are true, false and null.
func maskUnder(m map[string]any, k, p string, found *[]credential, rule nameRule) bool {
	switch t := m[k].(type) {
	case string:
		if !literalValue(t) || isKeyword(t) {
			return false
		}
		if strings.Contains(t, "\n") {
			// A multi-line value may be a file with structure (a PEM
			// block, an env file); mask what that finds, else all of it.
			n := len(*found)
			if masked := maskStringRule(p, t, found, rule); len(*found) > n {
				m[k] = masked
				return true
			}
		}
		*found = append(*found, credential{Where: p, sum: sum(k + "=" + t)})
		m[k] = Masked
		return true
	case []any:
		var vals []string
		maskScalars(t, p, &vals, found, rule)
		if len(vals) > 0 {
			*found = append(*found, credential{Where: p, sum: sum(k + "=" + strings.Join(vals, "\x00"))})
		}
		return true
	default:
		if isNumber(t) {
			s := fmt.Sprint(t)
			*found = append(*found, credential{Where: p, sum: sum(k + "=" + s)})
			m[k] = Masked
			return true
		}
	}
	return false
}

// maskScalars masks the literal strings and the numbers of a list under a
// credential name, in nested lists too; mappings in it are walked.
func maskScalars(list []any, p string, vals *[]string, found *[]credential, rule nameRule) {
	for i, e := range list {
		switch t := e.(type) {
		case string:
			if literalValue(t) && !isKeyword(t) {
				*vals = append(*vals, t)
				list[i] = Masked
			}
		case []any:
			maskScalars(t, p+index(e, i), vals, found, rule)
		case map[string]any:
			walkMask(t, p+index(e, i), found, rule)
		default:
			if isNumber(t) {
				*vals = append(*vals, fmt.Sprint(t))
				list[i] = Masked
			}
		}
	}
}

// walkList masks the elements of a list that is not under a credential
// name: strings as texts, and the value that follows a credential flag
// given as its own argument (args: [--db-password, VALUE]).
func walkList(list []any, path string, found *[]credential, rule nameRule) {
	for i, e := range list {
		p := path + index(e, i)
		switch t := e.(type) {
		case string:
			if i > 0 {
				if flag, ok := list[i-1].(string); ok && credentialFlag(flag, rule.name) && textLiteral(t) && !strings.HasPrefix(t, "-") {
					*found = append(*found, credential{Where: fmt.Sprintf("%s (%s)", p, flag), sum: sum(flag + "=" + t)})
					list[i] = Masked
					continue
				}
			}
			list[i] = maskStringRule(p, t, found, rule.at(p))
		case []any:
			walkList(t, p, found, rule)
		default:
			walkMask(e, p, found, rule)
		}
	}
}

var flagArg = regexp.MustCompile(`^--?[A-Za-z_][A-Za-z0-9_.\-]*$`)

// credentialFlag reports whether an argument is a flag without a value
// whose name looks like a credential: --db-password, -api-token.
func credentialFlag(s string, name func(string) bool) bool {
	return flagArg.MatchString(s) && name(s)
}

// maskString masks the secret material of a string found at path p,
// reports it in found, and returns the masked string.
func maskString(p, s string, found *[]credential) string {
	return maskStringRule(p, s, found, nameRule{name: credentialName})
}

// maskStringRule is maskString with a rule for names.
func maskStringRule(p, s string, found *[]credential, rule nameRule) string {
	if out, ok := maskJSON(p, s, found, rule); ok {
		return out
	}
	as := textAssignments(s, rule.name)
	multiline := strings.Contains(s, "\n")
	for _, a := range as {
		where := fmt.Sprintf("%s (%s)", p, a.Name)
		if multiline {
			where = fmt.Sprintf("%s line %d (%s)", p, a.Line, a.Name)
		}
		*found = append(*found, credential{Where: where, sum: sum(a.Name + "=" + a.value)})
	}
	out := applySpans(s, as)
	if privateKey.MatchString(out) {
		*found = append(*found, credential{Where: p + " (private key)", sum: sum(s)})
		out = maskPrivateKeys(out)
	}
	return out
}

// maskText replaces the values of credential assignments and private key
// blocks in a text.
func maskText(text string) string {
	var found []credential
	return maskString("", text, &found)
}

// maskPrivateKeys replaces the body of each private key block: whole
// lines, or the rest of a line that holds the block with escaped line
// breaks.
func maskPrivateKeys(text string) string {
	lines := strings.Split(text, "\n")
	inKey := false
	for i, l := range lines {
		if inKey {
			if j := strings.Index(l, "-----END "); j >= 0 {
				if strings.TrimSpace(l[:j]) != "" {
					lines[i] = Masked + l[j:]
				}
				inKey = false
			} else {
				lines[i] = Masked
			}
			continue
		}
		m := privateKey.FindStringIndex(l)
		if m == nil {
			continue
		}
		rest := l[m[1]:]
		switch j := strings.Index(rest, "-----END "); {
		case j >= 0:
			lines[i] = l[:m[1]] + Masked + rest[j:]
		case strings.TrimSpace(rest) != "":
			lines[i] = l[:m[1]] + Masked
			inKey = true
		default:
			inKey = true
		}
	}
	return strings.Join(lines, "\n")
}

// maskJSON masks a text that is a JSON object or array as an object (see
// maskCredentials: a Secret's data in a last-applied-configuration
// annotation is masked too), and writes the masked values back where they
// were. It reports false when the text is not JSON, or has a key twice
// (then the text scanner takes it).
func maskJSON(p, s string, found *[]credential, rule nameRule) (string, bool) {
	t := strings.TrimSpace(s)
	if t == "" || (t[0] != '{' && t[0] != '[') || !json.Valid([]byte(t)) {
		return "", false
	}
	idx := &jsonIndex{s: s, spans: map[string][2]int{}}
	if idx.value(0, "") < 0 || idx.dup {
		return "", false
	}
	orig, masked := decodeJSON(s), decodeJSON(s)
	var inner []credential
	if m, ok := masked.(map[string]any); ok {
		inner = maskObject(jsonObjectID(m), m, rule)
	} else {
		walkMask(masked, "", &inner, rule)
	}
	if len(inner) == 0 {
		return s, true
	}
	for _, c := range inner {
		*found = append(*found, credential{Where: fmt.Sprintf("%s (JSON: %s)", p, c.Where), sum: c.sum})
	}
	var spans []span
	var diff func(a, b any, path string)
	diff = func(a, b any, path string) {
		am, aok := a.(map[string]any)
		bm, bok := b.(map[string]any)
		if aok && bok && len(am) == len(bm) {
			for _, k := range sortedKeys(am) {
				diff(am[k], bm[k], path+strconv.Quote(k))
			}
			return
		}
		al, aok := a.([]any)
		bl, bok := b.([]any)
		if aok && bok && len(al) == len(bl) {
			for i := range al {
				diff(al[i], bl[i], path+"["+strconv.Itoa(i)+"]")
			}
			return
		}
		if !reflect.DeepEqual(a, b) {
			at := idx.spans[path]
			spans = append(spans, span{start: at[0], end: at[1], repl: encodeJSON(b)})
		}
	}
	diff(orig, masked, "")
	return replaceSpans(s, spans), true
}

func decodeJSON(s string) any {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber() // numbers as written
	var v any
	_ = dec.Decode(&v) // json.Valid said yes
	return v
}

func encodeJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return strconv.Quote(Masked)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// jsonObjectID identifies a decoded JSON object that is a Kubernetes
// object, enough for maskCredentials to know a Secret.
func jsonObjectID(m map[string]any) fluxbuild.ObjectID {
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	meta, _ := m["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	group, _, ok := strings.Cut(apiVersion, "/")
	if !ok {
		group = ""
	}
	return fluxbuild.ObjectID{Group: group, Kind: kind, Name: name}
}

// jsonIndex records where each value of a valid JSON text is, by a path
// of quoted keys and [i] indexes, and whether an object has a key twice.
type jsonIndex struct {
	s     string
	spans map[string][2]int
	dup   bool
}

func (x *jsonIndex) ws(i int) int {
	for i < len(x.s) && strings.IndexByte(" \t\r\n", x.s[i]) >= 0 {
		i++
	}
	return i
}

// value indexes the value at i (after white space) and returns its end, or
// -1 if the text is not as expected.
func (x *jsonIndex) value(i int, path string) int {
	i = x.ws(i)
	if i >= len(x.s) {
		return -1
	}
	start := i
	switch x.s[i] {
	case '{':
		seen := map[string]bool{}
		i = x.ws(i + 1)
		if i < len(x.s) && x.s[i] == '}' {
			i++
			break
		}
		for {
			i = x.ws(i)
			end := x.str(i)
			if end < 0 {
				return -1
			}
			var key string
			if json.Unmarshal([]byte(x.s[i:end]), &key) != nil {
				return -1
			}
			if seen[key] {
				x.dup = true
			}
			seen[key] = true
			i = x.ws(end)
			if i >= len(x.s) || x.s[i] != ':' {
				return -1
			}
			if i = x.value(i+1, path+strconv.Quote(key)); i < 0 {
				return -1
			}
			i = x.ws(i)
			if i >= len(x.s) {
				return -1
			}
			if x.s[i] == '}' {
				i++
				break
			}
			if x.s[i] != ',' {
				return -1
			}
			i++
		}
	case '[':
		i = x.ws(i + 1)
		if i < len(x.s) && x.s[i] == ']' {
			i++
			break
		}
		for n := 0; ; n++ {
			if i = x.value(i, path+"["+strconv.Itoa(n)+"]"); i < 0 {
				return -1
			}
			i = x.ws(i)
			if i >= len(x.s) {
				return -1
			}
			if x.s[i] == ']' {
				i++
				break
			}
			if x.s[i] != ',' {
				return -1
			}
			i++
		}
	case '"':
		if i = x.str(i); i < 0 {
			return -1
		}
	default: // number, true, false, null
		for i < len(x.s) && strings.IndexByte(",]} \t\r\n", x.s[i]) < 0 {
			i++
		}
	}
	x.spans[path] = [2]int{start, i}
	return i
}

// str returns the end of the JSON string at i, or -1.
func (x *jsonIndex) str(i int) int {
	if i >= len(x.s) || x.s[i] != '"' {
		return -1
	}
	for i++; i < len(x.s); i++ {
		switch x.s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// A span is a part of a text to replace.
type span struct {
	start, end int
	repl       string
}

// replaceSpans replaces spans of s; a span that overlaps an earlier one is
// left out (the earlier one covers it).
func replaceSpans(s string, spans []span) string {
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	var b strings.Builder
	at := 0
	for _, sp := range spans {
		if sp.start < at {
			continue
		}
		b.WriteString(s[at:sp.start])
		b.WriteString(sp.repl)
		at = sp.end
	}
	b.WriteString(s[at:])
	return b.String()
}

// An assignment is a place in a text (Python settings, JSON, YAML, an env
// file, a shell script, an argument) that sets a credential-looking name
// to literal values.
type assignment struct {
	Line  int // 1-based, where the name is
	Name  string
	spans []span // the values, with what replaces them
	value string // the values' text, for credential.sum
}

func applySpans(s string, as []assignment) string {
	var spans []span
	for _, a := range as {
		spans = append(spans, a.spans...)
	}
	if len(spans) == 0 {
		return s
	}
	return replaceSpans(s, spans)
}

// credentialAssignments returns, in order, the places in text that assign
// a literal to a credential-looking name.
func credentialAssignments(text string) []assignment {
	return textAssignments(text, credentialName)
}

// textAssignments returns, in order, the places in text that assign a
// literal to a name that name reports holds a credential.
func textAssignments(text string, name func(string) bool) []assignment {
	sc := newTextScanner(text, name)
	sc.scan(0, len(text), 0)
	for i := range sc.out {
		sc.out[i].Line = 1 + sc.lineOf(sc.out[i].Line)
	}
	return sc.out
}

// maxStringDepth bounds how deep the scanner looks into quoted strings
// inside quoted strings.
const maxStringDepth = 4

// textScanner finds assignments to credential names in a text of any of
// the languages fleiogen's trees hold, or that a hand edit may add. It
// reads names, quoted strings (Python and JSON escapes, shell quoting),
// numbers and brackets; what follows a credential name and = or : is its
// value:
//
//   - NAME=value, no space around =, not a keyword argument (f(x,
//     password=pw)): an env-style value as shell reads it (to the end of
//     the line when NAME starts the line, as env files read it), also
//     after export and as --name=value;
//   - a quoted string (with the strings concatenated to it), a number, or
//     a list or tuple of them;
//   - at the start of a line (NAME = value, name: value), the rest of the
//     line, unless it is code: a call or an index (os.environ['X']).
//
// References ($VAR, ${VAR}, $(cmd)) are not values.
//
// A mapping under a credential name is read key by key. Quoted strings
// that are not a name or a value are scanned too (an export in sh -c '...',
// a ?api_key= in a URL).
type textScanner struct {
	s    string
	name func(string) bool // whether a name holds a credential
	out  []assignment      // Line holds the name's offset until credentialAssignments counts lines
	skip map[int]int       // masked value spans, start to end: not scanned again

	// What the scanner has learnt, so that it never reads the same part
	// of the text again for every name it meets (which made masking take
	// time quadratic in the size of the text):
	newlines []int                     // offsets of the text's line breaks
	blank    map[int]int               // offset -> end of the blanks there
	strFail  map[strKey][2]int         // a string scan that failed: from, to
	lists    map[int]map[int]*listNode // limit -> bracket offset -> what literalList read
	match    map[byte][]int32          // bracket -> offset of each open one's match, -1 if none
}

// strKey identifies a kind of string scan: its quote, triple or not, and
// its limit.
type strKey struct {
	q      byte
	triple bool
	limit  int
}

func newTextScanner(text string, name func(string) bool) *textScanner {
	sc := &textScanner{s: text, name: name, skip: map[int]int{}, blank: map[int]int{},
		strFail: map[strKey][2]int{}, lists: map[int]map[int]*listNode{}, match: map[byte][]int32{}}
	for i := 0; ; {
		j := strings.IndexByte(text[i:], '\n')
		if j < 0 {
			break
		}
		sc.newlines = append(sc.newlines, i+j)
		i += j + 1
	}
	return sc
}

// lineOf returns the 0-based line that offset i is on.
func (sc *textScanner) lineOf(i int) int {
	n, _ := slices.BinarySearch(sc.newlines, i)
	return n
}

func isNameStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isWordChar(c byte) bool {
	return isNameStart(c) || c >= '0' && c <= '9'
}

func isNameChar(c byte) bool { return isWordChar(c) || c == '.' || c == '-' }

func isQuote(c byte) bool { return c == '\'' || c == '"' }

// nameEnd returns the end of the name at i: word characters, with . and -
// only between them.
func (sc *textScanner) nameEnd(i, limit int) int {
	for i < limit {
		c := sc.s[i]
		switch {
		case isWordChar(c):
			i++
		case (c == '.' || c == '-') && i+1 < limit && isWordChar(sc.s[i+1]):
			i++
		default:
			return i
		}
	}
	return i
}

// lineEnd returns the end of the line that i is on, at most limit.
func (sc *textScanner) lineEnd(i, limit int) int {
	if n := sc.lineOf(i); n < len(sc.newlines) && sc.newlines[n] < limit {
		return sc.newlines[n]
	}
	return limit
}

// lineStart returns the start of the line that i is on, at least from.
func (sc *textScanner) lineStart(i, from int) int {
	if n := sc.lineOf(i); n > 0 && sc.newlines[n-1]+1 > from {
		return sc.newlines[n-1] + 1
	}
	return from
}

// blankEnd returns the end of the spaces and tabs at i.
func (sc *textScanner) blankEnd(i int) int {
	if e, ok := sc.blank[i]; ok {
		return e
	}
	e := i
	for e < len(sc.s) && (sc.s[e] == ' ' || sc.s[e] == '\t') {
		e++
	}
	sc.blank[i] = e
	return e
}

// stringEnd returns the end of the quoted string at i (Python's triple
// quotes; Python's and JSON's backslash escapes; a single-quoted string
// not closed on its line is read as the shell does, without escapes), or
// -1 when it is not closed.
func (sc *textScanner) stringEnd(i, limit int) int {
	q := sc.s[i]
	triple := i+2 < limit && sc.s[i+1] == q && sc.s[i+2] == q
	// A scan for the same quote that failed from an earlier offset, past
	// this one, fails from here too: this quote was escaped in it, so
	// both read the same characters from here on.
	key := strKey{q, triple, limit}
	failed := false
	if f, ok := sc.strFail[key]; ok && f[0] < i && i < f[1] {
		failed = true
	}
	if triple {
		if !failed {
			for j := i + 3; j+3 <= limit; j++ {
				if sc.s[j] == '\\' {
					j++
					continue
				}
				if sc.s[j] == q && sc.s[j+1] == q && sc.s[j+2] == q {
					return j + 3
				}
			}
			sc.strFail[key] = [2]int{i, limit}
		}
		return -1
	}
	end := sc.lineEnd(i, limit)
	if !failed {
		for j := i + 1; j < end; j++ {
			switch sc.s[j] {
			case '\\':
				j++
			case q:
				return j + 1
			}
		}
		sc.strFail[key] = [2]int{i, end}
	}
	if q == '\'' {
		if j := strings.IndexByte(sc.s[i+1:end], '\''); j >= 0 {
			return i + 1 + j + 1
		}
	}
	return -1
}

// quoteLen is the length of the quotes of the string at i: 1 or 3.
func (sc *textScanner) quoteLen(i, end int) int {
	q := sc.s[i]
	if end-i >= 6 && sc.s[i+1] == q && sc.s[i+2] == q {
		return 3
	}
	return 1
}

// shellWordEnd returns the end of the shell word at i: up to unquoted white
// space or an operator, with quotes, backslashes, $(...) and ${...}.
func (sc *textScanner) shellWordEnd(i, limit int) int {
	for i < limit {
		c := sc.s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || strings.IndexByte(";&|<>)`", c) >= 0:
			return i
		case c == '\\':
			i += 2
		case c == '\'':
			if j := strings.IndexByte(sc.s[i+1:sc.lineEnd(i, limit)], '\''); j >= 0 {
				i += j + 2
			} else {
				return sc.lineEnd(i, limit)
			}
		case c == '"':
			j := i + 1
			for end := sc.lineEnd(i, limit); j < end && sc.s[j] != '"'; j++ {
				if sc.s[j] == '\\' {
					j++
				}
			}
			if j >= sc.lineEnd(i, limit) {
				return sc.lineEnd(i, limit)
			}
			i = j + 1
		case c == '$' && i+1 < limit && (sc.s[i+1] == '(' || sc.s[i+1] == '{'):
			j := sc.matching(i + 1)
			if j < 0 || j >= limit {
				return limit
			}
			i = j + 1
		default:
			i++
		}
	}
	if i > limit {
		return limit
	}
	return i
}

// matching returns the offset of the bracket that closes the ( or { at
// i, counting only those brackets, or -1.
func (sc *textScanner) matching(i int) int {
	open := sc.s[i]
	m, ok := sc.match[open]
	if !ok {
		close := byte(')')
		if open == '{' {
			close = '}'
		}
		m = make([]int32, len(sc.s))
		var stack []int
		for j := range len(sc.s) {
			m[j] = -1
			switch sc.s[j] {
			case open:
				stack = append(stack, j)
			case close:
				if n := len(stack); n > 0 {
					m[stack[n-1]] = int32(j)
					stack = stack[:n-1]
				}
			}
		}
		sc.match[open] = m
	}
	return int(m[i])
}

// lineValueEnd returns the end of a value that runs to the end of its
// line, without a trailing comment (" #...") or white space.
func (sc *textScanner) lineValueEnd(i, limit int) int {
	end := sc.lineEnd(i, limit)
	for j := i + 1; j < end; j++ {
		if sc.s[j] == '#' && (sc.s[j-1] == ' ' || sc.s[j-1] == '\t') {
			end = j
			break
		}
	}
	for end > i && (sc.s[end-1] == ' ' || sc.s[end-1] == '\t' || sc.s[end-1] == '\r') {
		end--
	}
	return end
}

// shellOperator ends a command in a shell line.
var shellOperator = regexp.MustCompile(`^[ \t]*(?:;|&&|\|\|?)|[ \t]+(?:;|&&|\|\|?)(?:[ \t]|$)`)

var anchorPrefix = regexp.MustCompile(`^[ \t]*(?:(?:export|readonly|local|typeset|declare(?:[ \t]+-[A-Za-z]+)*|ENV|set|-)[ \t]+)?$`)

// anchored reports whether the name at i starts its line (after
// indentation, export, declare, a YAML list dash...).
func (sc *textScanner) anchored(i, from int) bool {
	ls := sc.blankEnd(sc.lineStart(i, from))
	if ls > i {
		return false // i is in a run of blanks: a name does not start there
	}
	// What anchorPrefix allows after the indentation is short.
	return i-ls <= maxAnchorPrefix && anchorPrefix.MatchString(sc.s[ls:i])
}

// maxAnchorPrefix bounds what anchorPrefix is tried on: "declare" and a
// few flags.
const maxAnchorPrefix = 64

// keywordArgument reports whether the name at i is a keyword argument of a
// call: after ( or , on its line, or at the start of a line that follows
// one ending in ( or , (a call over several lines).
func (sc *textScanner) keywordArgument(i, from int) bool {
	ls := sc.lineStart(i, from)
	before := strings.TrimRight(sc.s[ls:i], " \t")
	if before != "" {
		c := before[len(before)-1]
		return c == '(' || c == ','
	}
	if ls == from {
		return false
	}
	prev := sc.s[sc.lineStart(ls-1, from) : ls-1]
	if t := strings.TrimSpace(prev); t != "" && !strings.HasPrefix(t, "#") {
		c := t[len(t)-1]
		return c == '(' || c == ','
	}
	return false
}

// scan scans s[from:limit]; depth counts the quoted strings it is in.
func (sc *textScanner) scan(from, limit, depth int) {
	for i := from; i < limit; {
		if end, ok := sc.skip[i]; ok {
			i = end
			continue
		}
		c := sc.s[i]
		switch {
		case isQuote(c):
			end := sc.stringEnd(i, limit)
			if end < 0 {
				i++
				continue
			}
			q := sc.quoteLen(i, end)
			key := sc.s[i+q : end-q]
			if !strings.ContainsAny(key, "\n") && len(key) <= 100 {
				if next, ok := sc.assign(i, end, key, true, from, limit); ok {
					i = next
					continue
				}
			}
			if depth < maxStringDepth {
				sc.scan(i+q, end-q, depth+1)
			}
			i = end
		case (isNameStart(c) || c == '-') && (i == from || !isNameChar(sc.s[i-1])):
			j := i
			for j < limit && j-i < 2 && sc.s[j] == '-' {
				j++
			}
			if j >= limit || !isNameStart(sc.s[j]) {
				i = j + 1
				continue
			}
			end := sc.nameEnd(j, limit)
			if next, ok := sc.assign(i, end, sc.s[i:end], false, from, limit); ok {
				i = next
				continue
			}
			i = end
		default:
			i++
		}
	}
}

// assign reads what follows the name (or quoted key) s[start:end]; if it
// assigns literal values to a credential name, it records them and returns
// where scanning goes on.
func (sc *textScanner) assign(start, end int, name string, quoted bool, from, limit int) (int, bool) {
	if !sc.name(name) {
		return 0, false
	}
	flag := !quoted && strings.HasPrefix(name, "-")
	j := end
	for j < limit && (sc.s[j] == ' ' || sc.s[j] == '\t') {
		j++
	}
	spacedBefore := j > end
	if j >= limit || (sc.s[j] != '=' && sc.s[j] != ':') {
		return 0, false
	}
	sep := sc.s[j]
	v := j + 1
	if v < limit && (sc.s[v] == '=' || sep == ':' && sc.s[v] == ':') {
		return 0, false // ==, ::
	}
	if sep == ':' && (flag || !quoted && v < limit && sc.s[v] != ' ' && sc.s[v] != '\t' && sc.s[v] != '\n' && sc.s[v] != '\r') {
		return 0, false // not YAML's "name: value" (a URL, a slice, :=)
	}
	for v < limit && (sc.s[v] == ' ' || sc.s[v] == '\t') {
		v++
	}
	spacedAfter := v > j+1
	if v >= limit || sc.s[v] == '\n' || sc.s[v] == '\r' {
		return 0, false
	}
	if flag && (sep != '=' || spacedBefore || spacedAfter) {
		return 0, false
	}
	anchored := sc.anchored(start, from)
	record := func(spans ...span) (int, bool) {
		vals := make([]string, len(spans))
		for i, sp := range spans {
			vals[i] = sc.s[sp.start:sp.end]
			sc.skip[sp.start] = sp.end
		}
		sc.out = append(sc.out, assignment{Line: start, Name: name, spans: spans, value: strings.Join(vals, "\x00")})
		return spans[len(spans)-1].end, true
	}
	c := sc.s[v]
	envStyle := sep == '=' && !quoted && !spacedBefore && !spacedAfter && !sc.keywordArgument(start, from)
	if anchored && !envStyle && !isQuote(c) && stringPrefix(sc.s, v, limit) == 0 && strings.IndexByte("[({", c) < 0 {
		// NAME = value, name: value: a bare value to the end of the line
		// (numbers too: YAML's "password: 123 456" is one string).
		e := sc.lineValueEnd(v, limit)
		val := strings.TrimSuffix(sc.s[v:e], ",")
		code := false
		if sep == '=' || quoted {
			code = strings.ContainsAny(val, `'"()[]{}`)
		} else {
			code = strings.IndexByte("|>&*!%@#", c) >= 0 // YAML block scalar, alias, tag
		}
		if !code && textLiteral(val) && !isKeyword(val) {
			return record(span{v, v + len(val), Masked})
		}
	}
	switch {
	case envStyle:
		// NAME=value, as shell and env files read it.
		if isNameStart(c) {
			w := v
			for w < limit && (isWordChar(sc.s[w]) || sc.s[w] == '.') {
				w++
			}
			if w < limit && (sc.s[w] == '(' || sc.s[w] == '[') {
				return 0, false // code: password=read('FILE')
			}
		}
		e := sc.shellWordEnd(v, limit)
		if isQuote(c) {
			e = max(e, sc.stringEnd(v, limit))
		}
		if anchored {
			// An env file's value runs to the end of the line, a shell's
			// to the next operator.
			if le := sc.lineValueEnd(v, limit); le > e {
				if m := shellOperator.FindStringIndex(sc.s[e:le]); m != nil {
					le = e + m[0]
				}
				e = le
			}
		}
		val := sc.s[v:e]
		if e <= v || !textLiteral(unquote(val)) || isKeyword(val) {
			return 0, false
		}
		return record(span{v, e, quotedMask(val)})
	case isQuote(c) || stringPrefix(sc.s, v, limit) > 0:
		q := v + stringPrefix(sc.s, v, limit)
		e := sc.stringEnd(q, limit)
		if e < 0 {
			// Not closed: all of the line, and no quote added.
			return record(span{v, sc.lineEnd(q, limit), string(sc.s[q]) + Masked})
		}
		if n := sc.quoteLen(q, e); !textLiteral(sc.s[q+n : e-n]) {
			return 0, false
		}
		spans := []span{{v, e, string(sc.s[q]) + Masked + string(sc.s[q])}}
		// Strings concatenated to it, 'abc' 'def' or 'abc' + 'def', are
		// part of the value.
		for {
			w := e
			for w < limit && (sc.s[w] == ' ' || sc.s[w] == '\t') {
				w++
			}
			if w < limit && sc.s[w] == '+' {
				for w++; w < limit && (sc.s[w] == ' ' || sc.s[w] == '\t'); w++ {
				}
			}
			if w >= limit || !isQuote(sc.s[w]) && stringPrefix(sc.s, w, limit) == 0 {
				break
			}
			q := w + stringPrefix(sc.s, w, limit)
			if e = sc.stringEnd(q, limit); e < 0 {
				break
			}
			spans = append(spans, span{w, e, string(sc.s[q]) + Masked + string(sc.s[q])})
		}
		return record(spans...)
	case c >= '0' && c <= '9' || (c == '-' || c == '+') && v+1 < limit && sc.s[v+1] >= '0' && sc.s[v+1] <= '9':
		e := v + 1
		for e < limit && strings.IndexByte(" \t\r\n,;)]}#", sc.s[e]) < 0 {
			e++
		}
		return record(span{v, e, Masked})
	case c == '[' || c == '(':
		spans, ok := sc.literalList(v, limit)
		if !ok || len(spans) == 0 {
			return 0, false
		}
		record(spans...)
		return v + 1, true // mappings inside are scanned key by key
	}
	return 0, false // a mapping is read key by key; anything else is code
}

// stringPrefix returns the length of a Python string prefix (r, b, f, u,
// rb...) at i that a quote follows, or 0.
func stringPrefix(s string, i, limit int) int {
	for n := 1; n <= 2 && i+n < limit; n++ {
		if !strings.ContainsRune("rRbBfFuU", rune(s[i+n-1])) {
			return 0
		}
		if isQuote(s[i+n]) {
			return n
		}
	}
	return 0
}

// unquote removes the quotes of a shell word, enough to tell a reference.
func unquote(v string) string {
	return strings.NewReplacer(`'`, "", `"`, "").Replace(v)
}

// quotedMask is what replaces a value: Masked, in the value's quotes when
// it is one quoted string.
func quotedMask(v string) string {
	if len(v) >= 2 && isQuote(v[0]) && v[len(v)-1] == v[0] && !strings.ContainsRune(v[1:len(v)-1], rune(v[0])) {
		return string(v[0]) + Masked + string(v[0])
	}
	return Masked
}

// literalList reads the list or tuple at i; when it holds only literals
// (strings, numbers, True/False/None, nested lists, tuples and mappings),
// it returns the spans of its literal strings and numbers that are not in
// a mapping.
func (sc *textScanner) literalList(i, limit int) ([]span, bool) {
	root := sc.readBrackets(i, limit)
	if root.end < 0 {
		return nil, false
	}
	var spans []span
	for todo := []*listNode{root}; len(todo) > 0; {
		n := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		spans = append(spans, n.literals...)
		todo = append(todo, n.lists...)
	}
	sort.Slice(spans, func(a, b int) bool { return spans[a].start < spans[b].start })
	return spans, true
}

// A listNode is what literalList read of a list, tuple or mapping.
type listNode struct {
	end      int         // after its closing bracket; -1 if it is not all literals, or not closed
	mapping  bool        // a {...}
	literals []span      // of a list or tuple: its own literal strings and numbers
	lists    []*listNode // of a list or tuple: the lists and tuples in it
}

// readBrackets reads the brackets at i and what they hold, as far as
// limit. Each bracket is read once for a limit: a bracket in it that was
// read before is not read again, and if it was not all literals, neither
// is this one (it is in it, and the same text follows it).
func (sc *textScanner) readBrackets(i, limit int) *listNode {
	memo := sc.lists[limit]
	if memo == nil {
		memo = map[int]*listNode{}
		sc.lists[limit] = memo
	}
	if n, ok := memo[i]; ok {
		return n
	}
	var stack []*listNode
	var opens []byte
	open := func(j int) {
		n := &listNode{end: -1, mapping: sc.s[j] == '{'}
		memo[j] = n
		if len(stack) > 0 && !n.mapping {
			if top := stack[len(stack)-1]; !top.mapping {
				top.lists = append(top.lists, n)
			}
		}
		stack = append(stack, n)
		opens = append(opens, sc.s[j])
	}
	literal := func(sp span) {
		if top := stack[len(stack)-1]; !top.mapping {
			top.literals = append(top.literals, sp)
		}
	}
	root := i
	open(i)
	for j := i + 1; j < limit; {
		c := sc.s[j]
		switch {
		case c == '[' || c == '(' || c == '{':
			if n, ok := memo[j]; ok {
				if n.end < 0 {
					return memo[root] // the stack's nodes stay unclosed: -1
				}
				if top := stack[len(stack)-1]; !top.mapping && !n.mapping {
					top.lists = append(top.lists, n)
				}
				j = n.end
				continue
			}
			open(j)
			j++
		case c == ']' || c == ')' || c == '}':
			want := map[byte]byte{']': '[', ')': '(', '}': '{'}[c]
			if opens[len(opens)-1] != want {
				return memo[root]
			}
			j++
			stack[len(stack)-1].end = j
			stack, opens = stack[:len(stack)-1], opens[:len(opens)-1]
			if len(stack) == 0 {
				return memo[root]
			}
		case strings.IndexByte(" \t\r\n,:", c) >= 0:
			j++
		case c == '#':
			j = sc.lineEnd(j, limit)
		case isQuote(c) || stringPrefix(sc.s, j, limit) > 0:
			q := j + stringPrefix(sc.s, j, limit)
			e := sc.stringEnd(q, limit)
			if e < 0 {
				return memo[root]
			}
			if n := sc.quoteLen(q, e); textLiteral(sc.s[q+n : e-n]) {
				literal(span{j, e, string(sc.s[q]) + Masked + string(sc.s[q])})
			}
			j = e
		case c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.':
			e := j + 1
			for e < limit && (isWordChar(sc.s[e]) || strings.IndexByte(".+-", sc.s[e]) >= 0) {
				e++
			}
			literal(span{j, e, Masked})
			j = e
		case isNameStart(c):
			e := j
			for e < limit && isWordChar(sc.s[e]) {
				e++
			}
			switch sc.s[j:e] {
			case "True", "False", "None", "true", "false", "null":
				j = e
			default:
				return memo[root] // code
			}
		default:
			return memo[root]
		}
	}
	return memo[root]
}
