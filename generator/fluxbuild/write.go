package fluxbuild

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Filter narrows a cluster to some of a FleioDeployment's stage
// Kustomizations. The zero Filter keeps everything.
type Filter struct {
	// Stage keeps the stage Kustomizations of that stage (label
	// fleiogen.io/stage).
	Stage string
	// Deployment keeps the stage Kustomizations of the FleioDeployment
	// NAME or NAMESPACE/NAME (label app.kubernetes.io/instance).
	Deployment string
}

// Select returns the Kustomizations of c that f keeps, in apply order. It
// is an error when f keeps none.
func (c *Cluster) Select(f Filter) ([]*Kustomization, error) {
	if f == (Filter{}) {
		return c.Kustomizations, nil
	}
	ns, name := "", f.Deployment
	if i := strings.IndexByte(f.Deployment, '/'); i >= 0 {
		ns, name = f.Deployment[:i], f.Deployment[i+1:]
	}
	var out []*Kustomization
	var deployments []string
	for _, k := range c.Kustomizations {
		stage, inst := k.Labels[StageLabel], k.Labels[InstanceLabel]
		if stage == "" || inst == "" {
			continue
		}
		if d := k.Namespace + "/" + inst; !slices.Contains(deployments, d) {
			deployments = append(deployments, d)
		}
		if f.Stage != "" && stage != f.Stage {
			continue
		}
		if f.Deployment != "" && (inst != name || (ns != "" && k.Namespace != ns)) {
			continue
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("cluster %s has no stage Kustomization for %s (FleioDeployments: %s)", c.Name, f, strings.Join(deployments, ", "))
	}
	return out, nil
}

// String describes the filter, as in "deployment billing/cloud, stage app".
func (f Filter) String() string {
	var parts []string
	if f.Deployment != "" {
		parts = append(parts, "deployment "+f.Deployment)
	}
	if f.Stage != "" {
		parts = append(parts, "stage "+f.Stage)
	}
	return strings.Join(parts, ", ")
}

// WriteYAML writes the objects of kss, in order, as one YAML stream. A
// comment line before each object names the Kustomization that applies it
// (the object also carries Flux's owner labels).
func WriteYAML(w io.Writer, kss []*Kustomization) error {
	first := true
	for _, k := range kss {
		for _, o := range k.Objects {
			y, err := o.YAML()
			if err != nil {
				return fmt.Errorf("%s: %w", o.ID, err)
			}
			if !first {
				if _, err := io.WriteString(w, "---\n"); err != nil {
					return err
				}
			}
			first = false
			if _, err := fmt.Fprintf(w, "# Kustomization %s\n%s", k.ID(), y); err != nil {
				return err
			}
		}
	}
	return nil
}
