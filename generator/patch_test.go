package generator

import (
	"bytes"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestDeploymentPatchMatches: the small patch type serialises exactly as
// the appsv1.Deployment holding the same fields, for every service and
// environment of the examples and for edge values.
func TestDeploymentPatchMatches(t *testing.T) {
	asDeployment := func(p *deploymentPatch) *appsv1.Deployment {
		var containers []corev1.Container
		for _, c := range p.Spec.Template.Spec.Containers {
			containers = append(containers, corev1.Container{Name: c.Name, Resources: c.Resources})
		}
		return &appsv1.Deployment{
			TypeMeta:   p.TypeMeta,
			ObjectMeta: metav1.ObjectMeta{Name: p.Metadata.Name, Namespace: p.Metadata.Namespace},
			Spec: appsv1.DeploymentSpec{
				Replicas: p.Spec.Replicas,
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Annotations: p.Spec.Template.Metadata.Annotations},
					Spec:       corev1.PodSpec{Containers: containers},
				},
			},
		}
	}
	same := func(name string, p *deploymentPatch) {
		t.Helper()
		var got, want bytes.Buffer
		if err := convert(&got, p, true); err != nil {
			t.Fatal(err)
		}
		if err := convert(&want, asDeployment(p), true); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s: patch serialises as\n%s\nthe Deployment as\n%s", name, got.String(), want.String())
		}
	}
	m, _ := renderDir(t, filepath.Join(repoRoot, "examples/fleet"))
	n := 0
	for _, d := range m.Deployments {
		for _, env := range d.Environments {
			s, err := renderSettings(m, d, env)
			if err != nil {
				t.Fatal(err)
			}
			for _, svc := range d.Services {
				same(d.Name+"/"+env.Name+"/"+svc, workloadPatch(d, env, svc, s))
				n++
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d patches compared", n)
	}
	zero := int32(0)
	edge := &deploymentPatch{Metadata: patchMeta{Name: "x"}}
	edge.Spec.Replicas = &zero
	edge.Spec.Template.Spec.Containers = []patchContainer{{Name: "c"}}
	same("zero replicas, no annotations, no resources", edge)
	edge.Spec.Replicas = nil
	edge.Spec.Template.Metadata.Annotations = map[string]string{"a": "1", "b": "yes"}
	edge.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{"cpu": resource.MustParse("0")}
	same("no replicas, odd values", edge)
	edge.Spec.Template.Spec.Containers = nil
	same("no containers", edge)
}
