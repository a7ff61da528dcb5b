// Package review compares what Flux would apply on each cluster between two
// versions of a fleet repository and flags the changes a reviewer must not
// miss.
//
// A Side is one version: the specs rendered in memory (or a committed
// rendered tree) from the working tree or from a git revision, read with
// go-git. Build builds every cluster of every side with fluxbuild, Compare
// turns two built sides into a Report (per cluster, per Kustomization,
// per object, with unified diffs whose noise is removed and whose secret
// values are masked) and its Risks, and the Report is written as text,
// Markdown (a pull-request comment) or JSON. Check compares a rendered tree
// with the files on disk.
package review
