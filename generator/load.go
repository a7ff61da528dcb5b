package generator

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// Source locates a document: the file and the line of each field path in it.
type Source struct {
	File string
	// lines maps a field path ("spec.license.key") to its 1-based line.
	lines map[string]int
	// Line is the line where the document starts.
	Line int
	// bad are the field paths Load reported problems at.
	bad []string
	// lost are the field paths whose values Load could not read: they
	// are missing from the object.
	lost []string
	// nulls are the field paths whose value is empty or null ("key:",
	// "key: ~"), which decoding turns into a zero value.
	nulls map[string]bool
}

// has reports whether the document holds field path p, whatever its value.
func (s *Source) has(p string) bool {
	_, ok := s.lines[p]
	return ok
}

// nullAt reports whether the value at field path p was written empty or
// null: decoding gives such a value its type's zero, which validation
// would otherwise take as written.
func (s *Source) nullAt(p string) bool { return s.nulls[p] }

// reported reports whether Load reported a problem at field, inside it, or
// at a field that holds it.
func (s *Source) reported(field string) bool {
	for _, b := range s.bad {
		if within(field, b) || within(b, field) {
			return true
		}
	}
	return false
}

// lostAt reports whether Load could not read the value at field path p,
// one inside it, or one that holds it: checks that compare with that value
// would report the loss as another problem.
func (s *Source) lostAt(p string) bool {
	for _, l := range s.lost {
		if within(p, l) || within(l, p) {
			return true
		}
	}
	return false
}

// within reports whether path p is q or inside it.
func within(p, q string) bool {
	return p == q || q == "" || strings.HasPrefix(p, q) && (p[len(q)] == '.' || p[len(q)] == '[')
}

// LineOf returns the line of field path p, or of its nearest parent that has
// one, or of the document.
func (s *Source) LineOf(p string) int {
	for p != "" {
		if l, ok := s.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return s.Line
}

// Specs is everything loaded from a spec directory.
type Specs struct {
	Fleet            *Fleet
	FleetSource      *Source
	Deployments      []*FleioDeployment
	DbConnections    []*FleioDbConnection
	RedisConnections []*FleioRedisConnection
	// Skipped lists, as "file:line: apiVersion kind" (or "file:line: (no
	// apiVersion and kind)", with what of them there is, or "file:line: (a
	// list, not a mapping)"), the documents of other API groups, or
	// without apiVersion and kind, that were left alone (see Load).
	Skipped []string
	// NotRead lists the files whose names end in .yaml, .yml or .json in
	// another case (billing.YAML): like kubectl, fleiogen does not read
	// them, and a spec there would be missing from the render.
	NotRead []string
	// sources maps each loaded object to where it came from.
	sources map[any]*Source
	// loadProblems are Load's problems, which Validate reports with its
	// own. whole says a document could not be loaded at all, or that the
	// Fleet, or an object's name or namespace, lost a value: checks
	// across objects would report what is missing as wrong, and Validate
	// runs only the checks of each object on its own.
	loadProblems Problems
	whole        bool
	// dir is the name Load gave the spec directory (its prefix), for a
	// problem of the specs as a whole.
	dir string
}

// SourceOf returns where obj was loaded from.
func (s *Specs) SourceOf(obj any) *Source { return s.sources[obj] }

// LoadDir loads the specs under a directory of the local file system;
// problems name files as dir/relative-path.
func LoadDir(dir string) (*Specs, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("reading specs: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("reading specs: %s is not a directory", dir)
	}
	return Load(os.DirFS(dir), filepath.ToSlash(filepath.Clean(dir)))
}

// Load reads every spec file (IsSpecFile) in fsys (recursively, in lexical
// order, skipping hidden directories and the files ignoredFile names) and
// decodes each document strictly into its kind. Problems name files as
// prefix/path. It returns every problem found, not only the first. A
// symbolic link to a file is read as the file; a link to a directory is an
// error, as its specs would otherwise vanish.
//
// Specs may live next to other manifests, as in a fleet repository: files
// fleiogen generated (they start with its header) are not read, and
// documents of other API groups (a Kustomization, flux bootstrap's files)
// and YAML without apiVersion and kind (a CI workflow, or a document that
// is not a mapping, such as an Ansible playbook) are skipped and listed in
// Specs.Skipped. A document that names one of fleiogen's kinds or API
// groups must be right, or it is an error; so is a file that is not YAML
// at all (a Helm template), as it may be a broken spec.
func Load(fsys fs.FS, prefix string) (*Specs, error) {
	dir := "."
	specs := &Specs{sources: map[any]*Source{}, dir: prefix}
	var problems Problems
	var files, dirLinks []string
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if ignoredFile(d.Name()) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			// A link to a file is read as the file; a link to a directory
			// is not walked (fs.WalkDir does not follow it), and skipping
			// it would drop its specs, and uninstall its deployments.
			if st, err := fs.Stat(fsys, p); err == nil && st.IsDir() {
				dirLinks = append(dirLinks, p)
				return nil
			}
		}
		if IsSpecFile(p) {
			files = append(files, p)
		} else if IsSpecFile(strings.ToLower(p)) {
			specs.NotRead = append(specs.NotRead, path.Join(prefix, p))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading specs: %w", err)
	}
	for _, l := range dirLinks {
		specs.whole = true
		problems = append(problems, Problem{File: path.Join(prefix, l), Message: "a symbolic link to a directory; fleiogen does not follow directory links: move the directory here, or link its spec files one by one"})
	}
	if len(files) == 0 && len(problems) == 0 {
		if len(specs.NotRead) > 0 {
			return nil, fmt.Errorf("%s: no *.yaml, *.yml or *.json spec files found (%s is not read: spec file names end in lower case, as kubectl reads them)", prefix, specs.NotRead[0])
		}
		return nil, fmt.Errorf("%s: no *.yaml, *.yml or *.json spec files found", prefix)
	}
	// Files are read and decoded in parallel, each into its own Specs, and
	// merged in file order.
	parts := make([]*Specs, len(files))
	partProblems := make([]Problems, len(files))
	parallel(len(files), func(i int) {
		part := &Specs{sources: map[any]*Source{}}
		parts[i] = part
		name := path.Join(prefix, files[i])
		data, err := readSpecFile(fsys, files[i])
		if err != nil {
			part.whole = true
			partProblems[i] = Problems{{File: name, Message: err.Error()}}
			return
		}
		if IsGenerated(data) {
			return // rendered output, not a spec
		}
		if path.Ext(files[i]) == ".json" {
			if n, line := jsonStream(data); n > 1 {
				part.whole = true
				partProblems[i] = Problems{{File: name, Line: line, Message: fmt.Sprintf("%d JSON values one after another (a JSON stream); fleiogen reads one JSON document per file: put each object in a file of its own, or write them as YAML documents separated by ---", n)}}
				return
			}
			data = jsonAsYAML(data)
		}
		partProblems[i] = part.loadFile(name, data)
	})
	for i, part := range parts {
		problems = append(problems, partProblems[i]...)
		specs.whole = specs.whole || part.whole
		specs.Deployments = append(specs.Deployments, part.Deployments...)
		specs.DbConnections = append(specs.DbConnections, part.DbConnections...)
		specs.RedisConnections = append(specs.RedisConnections, part.RedisConnections...)
		specs.Skipped = append(specs.Skipped, part.Skipped...)
		maps.Copy(specs.sources, part.sources)
		if part.Fleet == nil {
			continue
		}
		if specs.Fleet != nil {
			src := part.FleetSource
			problems = append(problems, Problem{File: src.File, Line: src.LineOf("kind"), Field: "kind",
				Message: fmt.Sprintf("a second Fleet (the first is %s:%d); a spec directory holds exactly one", specs.FleetSource.File, specs.FleetSource.Line)})
			delete(specs.sources, part.Fleet)
			continue
		}
		specs.Fleet, specs.FleetSource = part.Fleet, part.FleetSource
	}
	if len(problems) > 0 {
		specs.loadProblems = problems.sorted()
		return specs, specs.loadProblems
	}
	return specs, nil
}

// IsSpecFile reports whether a file's name marks it as a spec file: it
// ends in .yaml, .yml or .json, the files "kubectl apply -f DIR" reads. A
// JSON file is read as YAML, of which JSON is a subset.
func IsSpecFile(name string) bool {
	switch path.Ext(name) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// ignoredFile reports whether a file is never read, whatever its name ends
// in: hidden files (".#billing.yaml", Emacs' lock link while a spec has
// unsaved changes, or vim's swap files) and editors' backups and autosaves
// ("billing.yaml~", "#billing.yaml#").
func ignoredFile(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") ||
		len(name) >= 2 && name[0] == '#' && name[len(name)-1] == '#'
}

// MaxSpecFileSize bounds a spec file: specs are small, and a link to a
// device or a huge file must not exhaust memory.
const MaxSpecFileSize = 16 << 20

// readSpecFile reads a regular file (a symbolic link is followed) of at
// most MaxSpecFileSize bytes.
func readSpecFile(fsys fs.FS, name string) ([]byte, error) {
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %v", unwrapPath(err))
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s); spec files must be plain files", st.Mode().Type())
	}
	if st.Size() > MaxSpecFileSize {
		return nil, fmt.Errorf("%d bytes, over the %d MiB a spec file may have", st.Size(), MaxSpecFileSize>>20)
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %v", unwrapPath(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSpecFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read: %v", unwrapPath(err))
	}
	if len(data) > MaxSpecFileSize {
		return nil, fmt.Errorf("over the %d MiB a spec file may have", MaxSpecFileSize>>20)
	}
	return data, nil
}

// unwrapPath drops a PathError's path: problems name the file already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (s *Specs) loadFile(file string, data []byte) Problems {
	var problems Problems
	if bad := firstInvalidUTF8(data); bad >= 0 {
		s.whole = true
		line := bytes.Count(data[:bad], []byte("\n")) + 1
		return Problems{{File: file, Line: line, Message: fmt.Sprintf("invalid YAML: not UTF-8 (byte 0x%02x in column %d)", data[bad], bad-bytes.LastIndexByte(data[:bad], '\n')) + notASpec}}
	}
	// A byte-order mark is read as such only at the start of the file;
	// at the start of a later line (files joined with cat) YAML reads it
	// as part of the next key, and the document would lose its apiVersion.
	if i := bytes.Index(data, []byte("\n\ufeff")); i >= 0 {
		s.whole = true
		line := bytes.Count(data[:i+1], []byte("\n")) + 1
		return Problems{{File: file, Line: line, Message: "a byte-order mark (U+FEFF) at the start of the line, as joining files with a BOM leaves: YAML takes it as part of the text there; remove it" + notASpec}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return problems
		}
		if err != nil {
			s.whole = true
			line, text := yamlErrorLine(err), yamlErrorText(err)
			if !strings.Contains(err.Error(), "line ") {
				// The reader names no line for a character YAML forbids.
				if i := strings.IndexFunc(string(data), func(r rune) bool { return !yamlChar(r) }); i >= 0 {
					r, _ := utf8.DecodeRuneInString(string(data[i:]))
					line = bytes.Count(data[:i], []byte("\n")) + 1
					escaped := fmt.Sprintf(`\x%02x`, r)
					if r > 0xff {
						escaped = fmt.Sprintf(`\u%04x`, r)
					}
					text = fmt.Sprintf("the character %U, which YAML does not allow (write it escaped in a double-quoted string: \"%s\")", r, escaped)
				}
			}
			return append(problems, Problem{File: file, Line: line, Message: "invalid YAML: " + text + notASpec})
		}
		if len(doc.Content) == 0 || isNull(doc.Content[0]) {
			continue // an empty document ("---" alone, or only a comment), as kubectl skips it
		}
		problems = append(problems, s.loadDocument(file, doc.Content[0])...)
	}
}

// jsonStream counts the JSON values in data when it is a stream of more
// than one (as kubectl reads), and gives the line the second starts on.
func jsonStream(data []byte) (n, line int) {
	if json.Valid(data) {
		return 1, 0
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			if errors.Is(err, io.EOF) {
				return n, line
			}
			return 0, 0 // not JSON: the YAML reader reports it
		}
		if n++; n == 2 {
			end := int(dec.InputOffset()) - len(v)
			line = bytes.Count(data[:end], []byte("\n")) + 1
		}
	}
}

// jsonAsYAML rewrites the two escapes of valid JSON that YAML reads
// differently, so that the YAML reader reads a JSON file as a JSON decoder
// would: "\/" becomes "/", and a UTF-16 surrogate pair ("\ud83d\ude00", as
// Python's json.dumps writes an emoji) becomes YAML's "\U0001F600"; a lone
// surrogate becomes U+FFFD, as encoding/json decodes it. Escapes never span
// lines, so line numbers stay. Data that is not valid JSON is returned as
// it is, for the YAML reader to report.
func jsonAsYAML(data []byte) []byte {
	if !json.Valid(data) || !bytes.Contains(data, []byte(`\`)) {
		return data
	}
	out := make([]byte, 0, len(data))
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '"':
			inString = !inString
		case c == '\\' && inString:
			// Valid JSON: an escape is complete, and \u has 4 hex digits.
			switch data[i+1] {
			case '/':
				out = append(out, '/')
				i++
				continue
			case 'u':
				r, _ := hex4(data, i+2)
				if utf16.IsSurrogate(r) {
					if low, ok := hex4(data, i+8); ok && r < 0xdc00 && data[i+6] == '\\' && data[i+7] == 'u' {
						if pair := utf16.DecodeRune(r, low); pair != unicode.ReplacementChar {
							out = fmt.Appendf(out, `\U%08X`, pair)
							i += 11
							continue
						}
					}
					out = append(out, `\uFFFD`...)
					i += 5
					continue
				}
			}
			out = append(out, c, data[i+1])
			i++
			continue
		}
		out = append(out, c)
	}
	return out
}

// firstInvalidUTF8 returns the offset of the first byte of data that is not
// valid UTF-8, or -1. (A UTF-16 file has a BOM and no valid prefix; the YAML
// reader handles those.)
func firstInvalidUTF8(data []byte) int {
	if utf8.Valid(data) || bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		return -1
	}
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// peekTypeMeta reads apiVersion and kind from a document's mapping node
// without converting the document, through aliases and merge keys ("<<"),
// so that a spec written with them is read (and its merge key refused),
// not skipped as someone else's document.
func peekTypeMeta(root *yaml.Node) (apiVersion, kind string) {
	return peekTypeMetaDepth(root, 0)
}

func peekTypeMetaDepth(root *yaml.Node, depth int) (apiVersion, kind string) {
	if root.Kind == yaml.AliasNode && root.Alias != nil {
		root = root.Alias
	}
	if root.Kind != yaml.MappingNode || depth > 8 {
		return "", ""
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			// Merged values count only where the mapping does not set
			// its own.
			merged := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				merged = v.Content
			}
			for _, m := range merged {
				a, k := peekTypeMetaDepth(m, depth+1)
				apiVersion, kind = cmp.Or(apiVersion, a), cmp.Or(kind, k)
			}
			continue
		}
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
			continue
		}
		switch k.Value {
		case "apiVersion":
			apiVersion = v.Value
		case "kind":
			kind = v.Value
		}
	}
	return apiVersion, kind
}

// nestedOurs finds a mapping inside a document that is not a spec which
// names one of fleiogen's API groups or kinds with its apiVersion, such as
// the items of a v1 List (what kubectl get -o yaml prints). Skipping such
// a document would drop its objects, and the next render would uninstall
// them, so it is refused instead. It returns the mapping's line, or 0.
func nestedOurs(root *yaml.Node) int {
	budget := maxDocumentNodes
	var walk func(n *yaml.Node, depth int) int
	walk = func(n *yaml.Node, depth int) int {
		budget--
		if n == nil || budget < 0 || depth > maxDepth {
			return 0
		}
		if n.Kind == yaml.AliasNode {
			return 0 // its anchor is walked where it is defined
		}
		if n.Kind == yaml.MappingNode && depth > 0 {
			if apiVersion, kind := peekTypeMeta(n); apiVersion != "" && isOurs(apiVersion, kind) {
				return n.Line
			}
		}
		for _, c := range n.Content {
			if line := walk(c, depth+1); line > 0 {
				return line
			}
		}
		return 0
	}
	return walk(root, 0)
}

// listsOurs reports whether a document that is not a mapping is a list
// holding one of fleiogen's objects: an error, not a document to skip,
// since skipping it would drop the objects.
func listsOurs(root *yaml.Node) bool {
	if root.Kind != yaml.SequenceNode {
		return false
	}
	for _, item := range root.Content {
		if item.Kind == yaml.AliasNode {
			item = item.Alias
		}
		if item != nil && item.Kind == yaml.MappingNode && isOurs(peekTypeMeta(item)) {
			return true
		}
	}
	return false
}

// nodeKindName names the YAML kind of a document's top node.
func nodeKindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	}
	return "mapping"
}

// clearPath removes the value at field path p ("spec.ports[1].name") from
// v: a map entry is deleted, a list element set to null. Keys may hold
// dots, so every key that fits is tried. It reports whether it found one.
func clearPath(v any, p string) bool {
	if p == "" {
		return false
	}
	switch t := v.(type) {
	case map[string]any:
		found := false
		for k, e := range t {
			switch {
			case p == k:
				delete(t, k)
				found = true
			case strings.HasPrefix(p, k+"."):
				found = clearPath(e, p[len(k)+1:]) || found
			case strings.HasPrefix(p, k+"["):
				found = clearPath(e, p[len(k):]) || found
			}
		}
		return found
	case []any:
		if !strings.HasPrefix(p, "[") {
			return false
		}
		end := strings.IndexByte(p, ']')
		i, err := strconv.Atoi(p[1:max(end, 1)])
		if end < 0 || err != nil || i < 0 || i >= len(t) {
			return false
		}
		rest := strings.TrimPrefix(p[end+1:], ".")
		if rest == "" {
			t[i] = nil
			return true
		}
		return clearPath(t[i], rest)
	}
	return false
}

// isNull reports whether n is a plain null scalar: "", "~" or "null".
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// isOurs reports whether a document is meant for fleiogen: it names one of
// fleiogen's API groups or kinds, or has a kind but no apiVersion.
func isOurs(apiVersion, kind string) bool {
	if apiVersion == "" {
		return kind != ""
	}
	group, _, _ := strings.Cut(apiVersion, "/")
	if !strings.Contains(apiVersion, "/") {
		group = "" // the core group: "v1"
	}
	fleioGroup, _, _ := strings.Cut(FleioAPIVersion, "/")
	fleetGroup, _, _ := strings.Cut(FleetAPIVersion, "/")
	switch {
	case group == fleioGroup || group == fleetGroup:
		return true
	case kind == KindFleioDeployment || kind == KindFleioDbConnection || kind == KindFleioRedisConnection || kind == KindFleet:
		return true // one of ours under a wrong apiVersion
	}
	return false
}

// notASpec ends the message of a file that is not YAML: every *.yaml and
// *.yml file is read, and a broken spec must not be skipped (its
// deployments would be uninstalled), so the user says what is not a spec.
const notASpec = `; if this file is not a spec (a Helm template, say), keep it out of the specs: name the directory that holds only the specs as DIR, or start the name of the file, or of a directory above it, with "."`

// yamlErrorText is a yaml.v3 error's message without "yaml: " and
// "line N: " (the problem names the line).
func yamlErrorText(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ": "); i > 0 && allDigits(rest[:i]) {
			return rest[i+2:]
		}
	}
	return msg
}

// yamlErrorLine extracts "line N" from a yaml.v3 error message.
func yamlErrorLine(err error) int {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		rest := msg[i+5:]
		j := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if j < 0 {
			j = len(rest)
		}
		if n, err := strconv.Atoi(rest[:j]); err == nil {
			return n
		}
	}
	return 1
}

func (s *Specs) loadDocument(file string, root *yaml.Node) Problems {
	src := &Source{File: file, Line: root.Line, lines: map[string]int{}}
	var problems Problems
	report := func(field, format string, args ...any) {
		src.bad = append(src.bad, field)
		problems = append(problems, Problem{File: file, Line: src.LineOf(field), Field: field, Message: fmt.Sprintf(format, args...)})
	}
	// A document that is not fleiogen's is skipped before it is read
	// further: its YAML may use what specs may not (tags, merge keys, huge
	// numbers, deep nesting).
	if root.Kind == yaml.MappingNode {
		if apiVersion, kind := peekTypeMeta(root); !isOurs(apiVersion, kind) {
			if line := nestedOurs(root); line > 0 {
				s.whole = true
				what := "this document"
				if apiVersion == "v1" && kind == "List" {
					what = "a v1 List (as kubectl get -o yaml prints)"
				}
				return Problems{{File: file, Line: line, Message: fmt.Sprintf("one of fleiogen's objects inside %s (line %d): fleiogen reads only objects that are documents of their own; write each object as its own document, separated by ---", what, root.Line)}}
			}
			what := strings.TrimSpace(apiVersion + " " + kind)
			if apiVersion == "" || kind == "" {
				what = strings.TrimSpace("(no apiVersion and kind) " + what)
			}
			s.Skipped = append(s.Skipped, fmt.Sprintf("%s:%d: %s", file, root.Line, what))
			return nil
		}
	} else if !listsOurs(root) {
		if line := nestedOurs(root); line > 0 {
			s.whole = true
			return Problems{{File: file, Line: line, Message: fmt.Sprintf("one of fleiogen's objects inside a %s (line %d): write each object as its own document, separated by ---", nodeKindName(root), root.Line)}}
		}
		// A list (an Ansible playbook) or a scalar has no apiVersion and
		// kind either.
		s.Skipped = append(s.Skipped, fmt.Sprintf("%s:%d: (a %s, not a mapping)", file, root.Line, nodeKindName(root)))
		return nil
	}
	budget := maxDocumentNodes
	value, convProblems := nodeToValue(root, "", src, &budget, 0)
	if _, kind := peekTypeMeta(root); kind == KindFleioDeployment && budget > 0 {
		convProblems = dropLicenseKey(value, convProblems)
	}
	// lost are the fields whose values could not be read: they are
	// removed before decoding, so that the rest of the object loads.
	var lost []string
	for _, p := range convProblems {
		report(p.Field, "%s", p.Message)
		lost = append(lost, p.Field)
	}
	obj, ok := value.(map[string]any)
	if !ok {
		s.whole = true
		switch {
		case len(problems) > 0:
		case root.Kind == yaml.SequenceNode:
			report("", "a list of fleiogen's objects: write each object as its own document, separated by ---")
		default:
			report("", "a document must be a mapping with apiVersion and kind")
		}
		return problems
	}
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	if len(convProblems) > 0 && apiVersion == "" && kind == "" {
		// They came through a merge key, reported above: decode as what
		// they name rather than also reporting an unsupported kind.
		apiVersion, kind = peekTypeMeta(root)
		obj["apiVersion"], obj["kind"] = apiVersion, kind
	}
	var target any
	switch {
	case apiVersion == FleioAPIVersion && kind == KindFleioDeployment:
		target = &FleioDeployment{}
	case apiVersion == FleioAPIVersion && kind == KindFleioDbConnection:
		target = &FleioDbConnection{}
	case apiVersion == FleioAPIVersion && kind == KindFleioRedisConnection:
		target = &FleioRedisConnection{}
	case apiVersion == FleetAPIVersion && kind == KindFleet:
		target = &Fleet{}
	default:
		s.whole = true
		report("kind", "unsupported apiVersion %q and kind %q (supported: %s %s, %s, %s; %s %s)",
			apiVersion, kind, FleioAPIVersion, KindFleioDeployment, KindFleioDbConnection, KindFleioRedisConnection, FleetAPIVersion, KindFleet)
		return problems
	}
	if apiVersion == FleioAPIVersion {
		// What kubectl get -o yaml prints beside the spec: the operator's
		// status, which is no input and is dropped, and kubectl apply's
		// record of the last applied object, which may hold the inline
		// license key the spec no longer has.
		delete(obj, "status")
		if lastAppliedHoldsLicenseKey(obj) {
			report(lastAppliedField, "holds spec.license.key as kubectl apply recorded it: it would be committed to git with the specs; delete this annotation (kubectl's record of the last apply, not part of the spec)")
		}
	}
	// Unknown fields and wrong types are all reported, each at its path;
	// the object is still loaded without them, so that Validate can report
	// the other problems in the same run.
	var sc schemaCheck
	sc.check(value, reflect.TypeOf(target).Elem(), "")
	for _, p := range sc.problems {
		report(p.Field, "%s", p.Message)
	}
	lost = append(lost, sc.lost...)
	src.lost = lost
	// A Fleet, or an object's name or namespace, that lost a value would
	// make checks across objects report the loss as other problems.
	for _, f := range lost {
		if !clearPath(value, f) || kind == KindFleet || within(f, "metadata") || within("metadata", f) {
			s.whole = true
		}
	}
	raw, err := json.Marshal(floatsAsText(value))
	if err != nil {
		s.whole = true
		report("", "cannot encode document: %v", err)
		return problems
	}
	if err := json.Unmarshal(raw, target); err != nil && len(problems) == 0 {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			report(typeErr.Field, "expected %s, got a %s", typeErr.Type, typeErr.Value)
		} else {
			report(jsonErrorField(err), "%s", strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	switch t := target.(type) {
	case *FleioDeployment:
		s.Deployments = append(s.Deployments, t)
	case *FleioDbConnection:
		s.DbConnections = append(s.DbConnections, t)
	case *FleioRedisConnection:
		s.RedisConnections = append(s.RedisConnections, t)
	case *Fleet:
		if s.Fleet != nil {
			report("kind", "a second Fleet (the first is %s:%d); a spec directory holds exactly one", s.FleetSource.File, s.FleetSource.Line)
			return problems
		}
		s.Fleet, s.FleetSource = t, src
	}
	s.sources[target] = src
	return problems
}

// lastAppliedField is kubectl apply's annotation, as a field path.
const lastAppliedField = "metadata.annotations.kubectl.kubernetes.io/last-applied-configuration"

// lastAppliedHoldsLicenseKey reports whether obj's last-applied-configuration
// annotation (JSON) holds a spec.license.key that is not empty.
func lastAppliedHoldsLicenseKey(obj map[string]any) bool {
	meta, _ := obj["metadata"].(map[string]any)
	ann, _ := meta["annotations"].(map[string]any)
	text, _ := ann["kubectl.kubernetes.io/last-applied-configuration"].(string)
	if text == "" {
		return false
	}
	var last struct {
		Spec struct {
			License map[string]any `json:"license"`
		} `json:"spec"`
	}
	if json.Unmarshal([]byte(text), &last) != nil {
		// Not JSON: look for the key's name, as kubectl would have written it.
		return strings.Contains(text, `"key"`)
	}
	for k, v := range last.Spec.License {
		if strings.EqualFold(k, "key") && v != nil && v != "" {
			return true
		}
	}
	return false
}

// licenseKeyField is where an inline license key would be.
const licenseKeyField = "spec.license.key"

// dropLicenseKey removes from a FleioDeployment's value a spec.license.key
// that is not a string, and the problems of reading it. Validate refuses
// the field whatever its value (it finds it by its line), with a message
// that says how to move the key into a Secret and never quotes it; Load's
// own problems would quote it ("expected a string, got the number ...",
// "... is not a finite number") and not say so.
func dropLicenseKey(value any, problems Problems) Problems {
	spec, _ := asMap(value)["spec"].(map[string]any)
	license, _ := spec["license"].(map[string]any)
	if k, ok := license["key"]; ok {
		if _, isString := k.(string); !isString {
			delete(license, "key")
		}
	}
	return slices.DeleteFunc(problems, func(p Problem) bool { return within(p.Field, licenseKeyField) })
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// jsonErrorField finds the field path of a custom unmarshaler's error, which
// encoding/json reports as "... Go struct field T.a.b of type ...".
func jsonErrorField(err error) string {
	msg := err.Error()
	const marker = "Go struct field "
	i := strings.Index(msg, marker)
	if i < 0 {
		return ""
	}
	rest := msg[i+len(marker):]
	if j := strings.Index(rest, " "); j >= 0 {
		rest = rest[:j]
	}
	if j := strings.Index(rest, "."); j >= 0 {
		return rest[j+1:]
	}
	return ""
}

// maxDocumentNodes bounds the nodes of a document once its aliases are
// expanded: an alias that contains itself, or a "billion laughs" file,
// would otherwise exhaust memory.
const maxDocumentNodes = 100000

// maxDepth bounds the nesting of a document; specs need a dozen levels.
const maxDepth = 100

// truncatePath shortens a field path for a message.
func truncatePath(p string) string {
	if len(p) > 80 {
		return p[:80] + "..."
	}
	return p
}

// nodeToValue converts a YAML node into JSON-compatible Go values, recording
// the line of every field path and reporting duplicate keys, non-string
// keys and merge keys. Aliases are expanded; budget counts down the nodes
// that a document may expand to.
func nodeToValue(n *yaml.Node, p string, src *Source, budget *int, depth int) (any, Problems) {
	if *budget <= 0 {
		return nil, nil
	}
	*budget--
	if *budget == 0 || depth > maxDepth {
		*budget = 0 // one problem per document
		return nil, Problems{{Field: truncatePath(p), Message: fmt.Sprintf("the document expands to more than %d YAML nodes or %d levels (an alias that contains itself, or aliases nested too deep)", maxDocumentNodes, maxDepth)}}
	}
	if p != "" {
		src.lines[p] = n.Line
	}
	switch n.Kind {
	case yaml.AliasNode:
		return nodeToValue(n.Alias, p, src, budget, depth)
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		var problems Problems
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				problems = append(problems, Problem{Field: p, Message: "mapping keys must be strings"})
				continue
			}
			if k.Tag == "!!merge" {
				problems = append(problems, Problem{Field: p, Message: "YAML merge keys (<<) are not supported"})
				continue
			}
			cp := joinPath(p, k.Value)
			if _, dup := out[k.Value]; dup {
				src.lines[cp] = k.Line
				problems = append(problems, Problem{Field: cp, Message: "duplicate key"})
				continue
			}
			val, ps := nodeToValue(v, cp, src, budget, depth+1)
			src.lines[cp] = k.Line
			problems = append(problems, ps...)
			out[k.Value] = val
		}
		return out, problems
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		var problems Problems
		for i, c := range n.Content {
			val, ps := nodeToValue(c, fmt.Sprintf("%s[%d]", p, i), src, budget, depth+1)
			problems = append(problems, ps...)
			out = append(out, val)
		}
		return out, problems
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			if src.nulls == nil {
				src.nulls = map[string]bool{}
			}
			src.nulls[p] = true
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, Problems{{Field: p, Message: err.Error()}}
			}
			return b, nil
		case "!!int":
			var i int64
			if err := n.Decode(&i); err != nil {
				if bigIntRe.MatchString(n.Value) {
					// Past int64 but within uint64 (the YAML reader's
					// integers), or tagged !!int: kept digit for digit,
					// as Python's integers hold it.
					return bigInt(n.Value), nil
				}
				return nil, Problems{{Field: p, Message: fmt.Sprintf("%q is not a valid integer", n.Value)}}
			}
			return i, nil
		case "!!float":
			if n.Style&yaml.TaggedStyle == 0 && bigIntRe.MatchString(n.Value) {
				// An integer past uint64, which the YAML reader resolves
				// as a float (1.2345678901234568e+29): kept digit for
				// digit, as Python's integers hold it. (!!float 3 is a
				// float, as written.)
				return bigInt(n.Value), nil
			}
			var f float64
			err := n.Decode(&f)
			if err != nil && floatRe.MatchString(n.Value) {
				// !!float 12345678901234567890, which the YAML reader
				// reads as a uint64 and then refuses as a float.
				f, err = strconv.ParseFloat(n.Value, 64)
			}
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				// .inf and .nan too: neither JSON nor a Python literal
				// has them.
				return nil, Problems{{Field: p, Message: fmt.Sprintf("%q is not a finite number", n.Value)}}
			}
			// A float64 until the document is decoded, where floatsAsText
			// writes it so that it stays a float.
			return f, nil
		case "!!str", "!!timestamp":
			if n.Style == 0 && floatRe.MatchString(n.Value) {
				// Written as a number, but past float64 (1.0e+400): the
				// YAML reader makes it a string, which it was not meant
				// to be.
				return nil, Problems{{Field: p, Message: fmt.Sprintf("%s is out of range for a number (quote it to mean a string)", n.Value)}}
			}
			if n.Style == 0 && yaml11Bools[n.Value] && (within(p, "spec.settings") || within(p, "spec.frontendSettings")) {
				// The YAML reader here (1.2) reads yes, no, on and off as
				// strings, kubectl's (1.1) as booleans; written into the
				// settings as a string, even "no" is true in Python and
				// JavaScript.
				return nil, Problems{{Field: p, Message: fmt.Sprintf("%s is a boolean to YAML 1.1 readers such as kubectl, but would be written as the string %q, which Python and JavaScript take as true: write true or false, or quote it to mean a string", n.Value, n.Value)}}
			}
			return n.Value, nil
		default:
			return nil, Problems{{Field: p, Message: fmt.Sprintf("unsupported YAML tag %s", n.ShortTag())}}
		}
	}
	return nil, Problems{{Field: p, Message: "unsupported YAML node"}}
}

// yaml11Bools are the plain scalars YAML 1.1 reads as booleans and YAML
// 1.2 as strings (true and false are booleans to both).
var yaml11Bools = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true,
	"n": true, "N": true, "no": true, "No": true, "NO": true,
	"on": true, "On": true, "ON": true, "off": true, "Off": true, "OFF": true,
}

var (
	// bigIntRe is a decimal integer; floatRe a YAML 1.2 decimal number.
	bigIntRe = regexp.MustCompile(`^[-+]?[0-9]+$`)
	floatRe  = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)
)

// bigInt is a decimal integer (bigIntRe) as a JSON number: without a
// plus sign or leading zeros, which JSON does not allow.
func bigInt(s string) json.Number {
	sign := ""
	switch s[0] {
	case '-':
		sign = "-"
		fallthrough
	case '+':
		s = s[1:]
	}
	if t := strings.TrimLeft(s, "0"); t != "" {
		s = t
	} else {
		s = "0"
	}
	return json.Number(sign + s)
}

// floatsAsText replaces the floats of a decoded document (float64, see
// nodeToValue) by their floatText, in place, and returns it. encoding/json
// would write 1.0 as 1 and 12345678901234567890.5 as 12345678901234567000,
// which a setting (kept as raw JSON) would then carry into settings.py as
// Python integers.
func floatsAsText(v any) any {
	switch t := v.(type) {
	case float64:
		return json.Number(floatText(t))
	case map[string]any:
		for k, e := range t {
			t[k] = floatsAsText(e)
		}
	case []any:
		for i, e := range t {
			t[i] = floatsAsText(e)
		}
	}
	return v
}

// floatText writes a finite f as Python's repr does: the shortest digits
// that read back as f, with an exponent below 1e-4 and from 1e16 on
// (1e-05, 1.2345678901234567e+19), else with a decimal point (1.0, -0.0,
// 1000000000000000.0). Python reads it as that float, never as an int,
// and it is a JSON number too.
func floatText(f float64) string {
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

func joinPath(p, k string) string {
	if p == "" {
		return k
	}
	return p + "." + k
}

var jsonUnmarshaler = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()

// schemaCheck holds what check finds in a decoded document.
type schemaCheck struct {
	problems Problems
	// lost are the fields whose values cannot be decoded (wrong types,
	// values a field's own decoding refuses), as opposed to unknown
	// fields, which decoding ignores.
	lost []string
}

// check reports every key of v that type t does not declare, with the list
// of the allowed ones, and every value of the wrong type, each at its
// path. Types with their own JSON decoding are leaves.
func (sc *schemaCheck) check(v any, t reflect.Type, p string) {
	lose := func(msg string) {
		sc.problems = append(sc.problems, Problem{Field: p, Message: msg})
		sc.lost = append(sc.lost, p)
	}
	if v == nil && t.Kind() == reflect.Pointer {
		// null leaves a pointer field unset, as encoding/json does
		// (enableBackups: with nothing after it), whatever decodes it.
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeOf(json.RawMessage(nil)) {
		return
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		// Decode the leaf on its own, so that its error carries the path.
		raw, err := json.Marshal(v)
		if err == nil {
			err = reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(raw)
		}
		if err != nil {
			lose(err.Error())
		}
		return
	}
	if v == nil {
		return // null: the field is left unset
	}
	if msg := typeProblem(v, t); msg != "" {
		lose(msg)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		m := v.(map[string]any)
		fields := jsonFields(t)
		for _, k := range sortedKeys(m) {
			ft, ok := fields[k]
			if !ok {
				sc.problems = append(sc.problems, Problem{Field: joinPath(p, k), Message: fmt.Sprintf("unknown field (allowed: %s)", strings.Join(sortedKeys(fields), ", "))})
				// encoding/json matches names case-insensitively: Key
				// would decode into license.key, and be judged as it.
				delete(m, k)
				continue
			}
			sc.check(m[k], ft, joinPath(p, k))
		}
	case reflect.Map:
		m := v.(map[string]any)
		for _, k := range sortedKeys(m) {
			sc.check(m[k], t.Elem(), joinPath(p, k))
		}
	case reflect.Slice:
		for i, e := range v.([]any) {
			sc.check(e, t.Elem(), fmt.Sprintf("%s[%d]", p, i))
		}
	}
}

// typeProblem describes why encoding/json would not decode v into a t, or
// is "". (encoding/json itself reports only the first such value of a
// document, and without list indexes.)
func typeProblem(v any, t reflect.Type) string {
	want := ""
	switch t.Kind() {
	case reflect.String:
		if _, ok := v.(string); !ok {
			want = "a string"
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			want = "true or false"
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n, ok := v.(json.Number); ok {
			return fmt.Sprintf("%s is out of range for %s", n, t.Kind())
		}
		i, ok := v.(int64)
		if !ok {
			want = "an integer"
		} else if reflect.Zero(t).OverflowInt(i) {
			return fmt.Sprintf("%d is out of range for %s", i, t.Kind())
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n, ok := v.(json.Number); ok {
			return fmt.Sprintf("%s is out of range for %s", n, t.Kind())
		}
		i, ok := v.(int64)
		if !ok || i < 0 {
			want = "a non-negative integer"
		} else if reflect.Zero(t).OverflowUint(uint64(i)) {
			return fmt.Sprintf("%d is out of range for %s", i, t.Kind())
		}
	case reflect.Float32, reflect.Float64:
		switch v.(type) {
		case int64, float64, json.Number:
		default:
			want = "a number"
		}
	case reflect.Struct, reflect.Map:
		if _, ok := v.(map[string]any); !ok {
			want = "a mapping"
		}
	case reflect.Slice:
		if _, ok := v.([]any); !ok {
			want = "a list"
		}
	}
	if want == "" {
		return ""
	}
	return fmt.Sprintf("expected %s, got %s", want, describe(v))
}

// describe names the YAML type of a decoded value.
func describe(v any) string {
	switch t := v.(type) {
	case string:
		if len(t) > 40 {
			return fmt.Sprintf("a string of %d bytes", len(t))
		}
		return fmt.Sprintf("the string %q", t)
	case bool:
		return fmt.Sprintf("%v", t)
	case int64:
		return fmt.Sprintf("the number %d", t)
	case float64:
		return "the number " + floatText(t) // 3306.0, not 3306: an integer is what is missing
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("%T", v)
}

// jsonFieldsCache holds jsonFields' answers: reflect.Type -> map, never
// modified once stored (callers only read it).
var jsonFieldsCache sync.Map

// jsonFields maps the JSON names of t's fields (inline structs flattened)
// to their types. The map is shared: do not modify it.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := jsonFieldsCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := buildJSONFields(t)
	jsonFieldsCache.Store(t, m)
	return m
}

func buildJSONFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) && f.Type.Kind() == reflect.Struct {
			for k, v := range buildJSONFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
