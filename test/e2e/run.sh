#!/usr/bin/env bash
# Runs the real-cluster scenarios (see README.md in this directory): installs
# etcd when missing, then runs the Go tests of this module. Binaries
# (kube-apiserver, kube-controller-manager, kustomize-controller) and CRDs
# are built once into a cache and reused by later runs.
set -euo pipefail
cd "$(dirname "$0")"
./hack/install-deps.sh
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
go test -count=1 -timeout 75m ./... "$@"
