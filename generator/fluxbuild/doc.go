// Package fluxbuild builds a rendered fleet tree the way Flux would apply it
// on one cluster, without a cluster.
//
// Starting from clusters/<cluster>/ (what the flux-system Kustomization that
// flux bootstrap writes applies), it builds every Flux Kustomization it
// meets with kustomize (krusty, in memory), substitutes variables from
// spec.postBuild like kustomize-controller (github.com/fluxcd/pkg/envsubst,
// strict, "$$" unescapes to "$", objects labelled or annotated
// kustomize.toolkit.fluxcd.io/substitute: disabled left alone, variables
// read from the ConfigMaps and Secrets that earlier Kustomizations
// applied), labels every object with the Kustomization that owns it, and
// orders the Kustomizations as Flux applies them: a Kustomization after the
// one that applies it and after those it dependsOn.
//
// Every GitRepository is taken to be the fleet repository itself, and
// clusters/<cluster>/flux-system/ (flux bootstrap's) is left out.
package fluxbuild
