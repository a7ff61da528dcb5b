package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DecodeYAML splits a multi-document YAML stream into objects, skipping
// empty documents and expanding v1 Lists.
func DecodeYAML(b []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.IsList() {
			l, err := u.ToList()
			if err != nil {
				return nil, err
			}
			for i := range l.Items {
				out = append(out, &l.Items[i])
			}
			continue
		}
		out = append(out, u)
	}
}

// FieldManager is the field manager of everything the test itself applies
// (what a human with kubectl would do).
const FieldManager = "e2e-test"

// Apply server-side applies obj as cluster admin.
func (c *Cluster) Apply(ctx context.Context, obj *unstructured.Unstructured, opts ...client.PatchOption) error {
	o := obj.DeepCopy()
	o.SetResourceVersion("")
	o.SetManagedFields(nil)
	opts = append([]client.PatchOption{client.FieldOwner(FieldManager), client.ForceOwnership}, opts...)
	//nolint:staticcheck // client.Apply with unstructured is still the simplest SSA path.
	return c.Client.Patch(ctx, o, client.Apply, opts...)
}

// ApplyYAML applies every object of a YAML stream.
func (c *Cluster) ApplyYAML(ctx context.Context, y string) error {
	objs, err := DecodeYAML([]byte(y))
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := c.Apply(ctx, o); err != nil {
			return fmt.Errorf("apply %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
	return nil
}

// Poll calls check until it reports done, returns an error, or timeout
// passes. On timeout the error names what was waited for and the last
// state check reported.
func Poll(ctx context.Context, timeout time.Duration, what string, check func() (done bool, state string, err error)) error {
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		done, state, err := check()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if done {
			return nil
		}
		last = state
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s; last seen: %s", timeout, what, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w; last seen: %s", what, ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// eventLog is an append-only log file of harness and stand-in decisions.
type eventLog struct {
	mu sync.Mutex
	f  *os.File
}

func newEventLog(path string) *eventLog {
	f, _ := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	return &eventLog{f: f}
}

func (l *eventLog) add(who, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		fmt.Fprintf(l.f, "%s [%s] %s\n", time.Now().Format("15:04:05.000"), who, msg)
	}
}

func (l *eventLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}
