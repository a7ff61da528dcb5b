#!/usr/bin/env bash
# Installs what the real-cluster tests need from the system's package manager:
# etcd (Debian's etcd-server). Idempotent: does nothing when etcd is on PATH.
# Works as root without sudo; uses sudo only when not root and sudo exists.
set -euo pipefail

if command -v etcd >/dev/null 2>&1; then
  echo "install-deps: etcd already installed: $(command -v etcd)"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: etcd is missing and apt-get is not available; install etcd (v3.4+) and put it on PATH" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-deps: need root (or sudo) to apt-get install etcd-server" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
# Only refresh the package lists when the package is unknown.
if ! apt-cache show etcd-server >/dev/null 2>&1; then
  $SUDO apt-get update
fi
# --no-install-recommends keeps the etcd-client and docs out; the package's
# own service is not started inside containers without systemd, and the tests
# never use it (they start etcd on their own loopback ports).
$SUDO apt-get install -y --no-install-recommends etcd-server
command -v etcd >/dev/null 2>&1 || { echo "install-deps: etcd still not on PATH after install" >&2; exit 1; }
echo "install-deps: installed $(etcd --version | head -1)"
