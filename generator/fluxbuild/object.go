package fluxbuild

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// Labels and annotations Flux sets or reads, and those fleiogen puts on a
// FleioDeployment's stage Kustomizations.
const (
	// OwnerNameLabel and OwnerNamespaceLabel name the Kustomization that
	// applied an object; kustomize-controller sets them on everything it
	// applies, and so does Build.
	OwnerNameLabel      = "kustomize.toolkit.fluxcd.io/name"
	OwnerNamespaceLabel = "kustomize.toolkit.fluxcd.io/namespace"
	SubstituteKey       = "kustomize.toolkit.fluxcd.io/substitute"
	PruneKey            = "kustomize.toolkit.fluxcd.io/prune"
	ForceKey            = "kustomize.toolkit.fluxcd.io/force"
	Disabled            = "disabled"
	Enabled             = "enabled"

	StageLabel    = "fleiogen.io/stage"
	InstanceLabel = "app.kubernetes.io/instance"
)

// ObjectID identifies an object in a cluster as Flux's inventory does:
// API group, kind, namespace and name.
type ObjectID struct {
	Group, Kind, Namespace, Name string
}

// String returns "Kind namespace/name", or "Kind name" for objects without
// a namespace.
func (id ObjectID) String() string {
	if id.Namespace == "" {
		return id.Kind + " " + id.Name
	}
	return id.Kind + " " + id.Namespace + "/" + id.Name
}

// Less orders IDs by group, kind, namespace and name.
func (id ObjectID) Less(o ObjectID) bool {
	if id.Group != o.Group {
		return id.Group < o.Group
	}
	if id.Kind != o.Kind {
		return id.Kind < o.Kind
	}
	if id.Namespace != o.Namespace {
		return id.Namespace < o.Namespace
	}
	return id.Name < o.Name
}

// Object is one Kubernetes object as Flux would apply it.
type Object struct {
	ID         ObjectID
	APIVersion string
	// Content is the whole object: substituted, with Flux's owner labels.
	// Numbers are json.Number. Treat it as read-only.
	Content map[string]any
}

// newObject decodes one YAML document.
func newObject(doc []byte) (*Object, error) {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	return objectFromJSON(j)
}

// objectFromJSON decodes one object serialised as JSON.
func objectFromJSON(j []byte) (*Object, error) {
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("empty document")
	}
	o := &Object{Content: m}
	o.APIVersion, _ = m["apiVersion"].(string)
	o.ID.Kind, _ = m["kind"].(string)
	if i := strings.LastIndex(o.APIVersion, "/"); i >= 0 {
		o.ID.Group = o.APIVersion[:i]
	}
	md, _ := m["metadata"].(map[string]any)
	o.ID.Name, _ = md["name"].(string)
	o.ID.Namespace, _ = md["namespace"].(string)
	if o.APIVersion == "" || o.ID.Kind == "" || o.ID.Name == "" {
		return nil, fmt.Errorf("object without apiVersion, kind or metadata.name")
	}
	return o, nil
}

// Labels returns the object's labels (nil when it has none).
func (o *Object) Labels() map[string]string { return stringMap(o.Content, "labels") }

// Annotations returns the object's annotations (nil when it has none).
func (o *Object) Annotations() map[string]string { return stringMap(o.Content, "annotations") }

// Marked reports whether the object has key: value as a label or an
// annotation, the two ways Flux accepts its switches.
func (o *Object) Marked(key, value string) bool {
	return o.Labels()[key] == value || o.Annotations()[key] == value
}

// YAML serialises the object with sorted keys.
func (o *Object) YAML() ([]byte, error) { return yaml.Marshal(o.Content) }

func stringMap(obj map[string]any, field string) map[string]string {
	md, _ := obj["metadata"].(map[string]any)
	raw, _ := md[field].(map[string]any)
	if len(raw) == 0 {
		return nil
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// withLabels returns a copy of o with labels added. The copy shares
// everything but the top level, metadata and metadata.labels with o.
func (o *Object) withLabels(add map[string]string) *Object {
	content := make(map[string]any, len(o.Content))
	for k, v := range o.Content {
		content[k] = v
	}
	old, _ := o.Content["metadata"].(map[string]any)
	md := make(map[string]any, len(old)+1)
	for k, v := range old {
		md[k] = v
	}
	oldLabels, _ := md["labels"].(map[string]any)
	labels := make(map[string]any, len(oldLabels)+len(add))
	for k, v := range oldLabels {
		labels[k] = v
	}
	for k, v := range add {
		labels[k] = v
	}
	md["labels"] = labels
	content["metadata"] = md
	return &Object{ID: o.ID, APIVersion: o.APIVersion, Content: content}
}

// Path returns the value at a field path (Path("spec", "template")), or
// nil.
func (o *Object) Path(fields ...string) any {
	var cur any = o.Content
	for _, f := range fields {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[f]
	}
	return cur
}
