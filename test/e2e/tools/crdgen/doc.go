// Package crdgen only exists so that go mod tidy keeps the helm-controller API
// module, whose packages controller-gen reads to generate the HelmRelease CRD.
package crdgen

import _ "github.com/fluxcd/helm-controller/api/v2"
