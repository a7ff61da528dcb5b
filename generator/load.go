package generator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Source locates a document: the file and the line of each field path in it.
type Source struct {
	File string
	// lines maps a field path ("spec.license.key") to its 1-based line.
	lines map[string]int
	// Line is the line where the document starts.
	Line int
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
	// Skipped lists, as "file:line: apiVersion kind", the documents of
	// other API groups that were left alone (see Load).
	Skipped []string
	// sources maps each loaded object to where it came from.
	sources map[any]*Source
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

// Load reads every *.yaml and *.yml file in fsys (recursively, in lexical
// order, skipping hidden directories) and decodes each document strictly
// into its kind. Problems name files as prefix/path. It returns every
// problem found, not only the first.
//
// Specs may live next to other manifests, as in a fleet repository: files
// fleiogen generated (they start with its header) are not read, and
// documents of other API groups (a Kustomization, flux bootstrap's files)
// and YAML without apiVersion and kind (a CI workflow) are skipped and
// listed in Specs.Skipped. A document that names one of fleiogen's kinds or
// API groups must be right, or it is an error.
func Load(fsys fs.FS, prefix string) (*Specs, error) {
	dir := "."
	specs := &Specs{sources: map[any]*Source{}}
	var problems Problems
	var files []string
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if ext := path.Ext(p); ext == ".yaml" || ext == ".yml" {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading specs: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no *.yaml or *.yml spec files found", prefix)
	}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("reading specs: %w", err)
		}
		if IsGenerated(data) {
			continue // rendered output, not a spec
		}
		problems = append(problems, specs.loadFile(path.Join(prefix, f), data)...)
	}
	if len(problems) > 0 {
		return specs, problems.sorted()
	}
	return specs, nil
}

func (s *Specs) loadFile(file string, data []byte) Problems {
	var problems Problems
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return problems
		}
		if err != nil {
			return append(problems, Problem{File: file, Line: yamlErrorLine(err), Message: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")})
		}
		if len(doc.Content) == 0 {
			continue // an empty document between "---" lines
		}
		problems = append(problems, s.loadDocument(file, doc.Content[0])...)
	}
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
		problems = append(problems, Problem{File: file, Line: src.LineOf(field), Field: field, Message: fmt.Sprintf(format, args...)})
	}
	value, convProblems := nodeToValue(root, "", src)
	for _, p := range convProblems {
		report(p.Field, "%s", p.Message)
	}
	if len(problems) > 0 {
		return problems
	}
	obj, ok := value.(map[string]any)
	if !ok {
		report("", "a document must be a mapping with apiVersion and kind")
		return problems
	}
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	if !isOurs(apiVersion, kind) {
		s.Skipped = append(s.Skipped, fmt.Sprintf("%s:%d: %s %s", file, root.Line, apiVersion, kind))
		return nil
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
		report("kind", "unsupported apiVersion %q and kind %q (supported: %s %s, %s, %s; %s %s)",
			apiVersion, kind, FleioAPIVersion, KindFleioDeployment, KindFleioDbConnection, KindFleioRedisConnection, FleetAPIVersion, KindFleet)
		return problems
	}
	for _, p := range unknownFields(value, reflect.TypeOf(target).Elem(), "") {
		report(p.Field, "%s", p.Message)
	}
	if len(problems) > 0 {
		return problems
	}
	raw, err := json.Marshal(value)
	if err != nil {
		report("", "cannot encode document: %v", err)
		return problems
	}
	if err := json.Unmarshal(raw, target); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			report(typeErr.Field, "expected %s, got a %s", typeErr.Type, typeErr.Value)
		} else {
			report(jsonErrorField(err), "%s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return problems
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

// nodeToValue converts a YAML node into JSON-compatible Go values, recording
// the line of every field path and reporting duplicate keys, anchors and
// non-string keys.
func nodeToValue(n *yaml.Node, p string, src *Source) (any, Problems) {
	if p != "" {
		src.lines[p] = n.Line
	}
	switch n.Kind {
	case yaml.AliasNode:
		return nodeToValue(n.Alias, p, src)
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
			val, ps := nodeToValue(v, cp, src)
			src.lines[cp] = k.Line
			problems = append(problems, ps...)
			out[k.Value] = val
		}
		return out, problems
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		var problems Problems
		for i, c := range n.Content {
			val, ps := nodeToValue(c, fmt.Sprintf("%s[%d]", p, i), src)
			problems = append(problems, ps...)
			out = append(out, val)
		}
		return out, problems
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
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
				return nil, Problems{{Field: p, Message: fmt.Sprintf("%q is not a valid integer", n.Value)}}
			}
			return i, nil
		case "!!float":
			var f float64
			if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, Problems{{Field: p, Message: fmt.Sprintf("%q is not a finite number", n.Value)}}
			}
			return f, nil
		case "!!str", "!!timestamp":
			return n.Value, nil
		default:
			return nil, Problems{{Field: p, Message: fmt.Sprintf("unsupported YAML tag %s", n.ShortTag())}}
		}
	}
	return nil, Problems{{Field: p, Message: "unsupported YAML node"}}
}

func joinPath(p, k string) string {
	if p == "" {
		return k
	}
	return p + "." + k
}

var jsonUnmarshaler = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()

// unknownFields reports every key of v that type t does not declare, with
// the list of the allowed ones. Types with their own JSON decoding are
// leaves.
func unknownFields(v any, t reflect.Type, p string) Problems {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeOf(json.RawMessage(nil)) {
		return nil
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		// Decode the leaf on its own, so that its error carries the path.
		raw, err := json.Marshal(v)
		if err == nil {
			err = reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(raw)
		}
		if err != nil {
			return Problems{{Field: p, Message: err.Error()}}
		}
		return nil
	}
	var problems Problems
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil // a type mismatch, reported by the decoder
		}
		fields := jsonFields(t)
		keys := sortedKeys(m)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				problems = append(problems, Problem{Field: joinPath(p, k), Message: fmt.Sprintf("unknown field (allowed: %s)", strings.Join(sortedKeys(fields), ", "))})
				continue
			}
			problems = append(problems, unknownFields(m[k], ft, joinPath(p, k))...)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		for _, k := range sortedKeys(m) {
			problems = append(problems, unknownFields(m[k], t.Elem(), joinPath(p, k))...)
		}
	case reflect.Slice:
		s, ok := v.([]any)
		if !ok {
			return nil
		}
		for i, e := range s {
			problems = append(problems, unknownFields(e, t.Elem(), fmt.Sprintf("%s[%d]", p, i))...)
		}
	}
	return problems
}

// jsonFields maps the JSON names of t's fields (inline structs flattened) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
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
