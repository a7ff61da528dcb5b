#!/usr/bin/env bash
# Measure "fleiogen diff" as CI runs it: a whole process, wall time, CPU
# time (user + system) and peak resident memory (GNU time), median of RUNS
# runs, on
#   - examples/fleet with a small change (backups off, a release upgrade);
#   - the synthetic fleet of hack/bench (N FleioDeployments, default 100, in
#     tenants of 10, on 3 clusters): no change, one tenant's 10 deployments
#     upgraded, and a change that touches every deployment (a production
#     storage class).
#
#   hack/bench-diff.sh [-n N] [-runs RUNS] [-fleiogen BIN]
#
# Needs git and GNU time (/usr/bin/time; Debian package "time").
set -euo pipefail
cd "$(dirname "$0")/.."
n=100 runs=3 bin=bin/fleiogen
while [ $# -gt 0 ]; do
  case $1 in
    -n) n=$2; shift 2 ;;
    -runs) runs=$2; shift 2 ;;
    -fleiogen) bin=$2; shift 2 ;;
    *) echo "usage: $0 [-n N] [-runs RUNS] [-fleiogen BIN]" >&2; exit 2 ;;
  esac
done
[ -x /usr/bin/time ] || { echo "bench-diff: GNU time (/usr/bin/time) is needed" >&2; exit 3; }
[ -x "$bin" ] || go build -o "$bin" ./cmd/fleiogen
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
work=$(mktemp -d "${TMPDIR:-/tmp}/fleiogen-bench-diff.XXXXXX")
trap 'rm -rf "$work"' EXIT

git_() { git -C "$1" -c user.name=bench -c user.email=bench@example.com -c commit.gpgsign=false "${@:2}"; }

# repo DIR: a repository with specs/ committed on main.
repo() { git_ "$1" init -q -b main && git_ "$1" add -A && git_ "$1" commit -q -m specs; }

# measure LABEL REPO: run diff RUNS times; print the median wall time and
# peak RSS, the exit code and the report's size.
measure() {
  local label=$1 dir=$2 walls=() cpus=() rss=() code=0
  for _ in $(seq "$runs"); do
    code=0
    /usr/bin/time -v -o "$work/time" "$bin" diff --base main -o markdown "$dir/specs" >"$work/out.md" 2>"$work/err" || code=$?
    if [ "$code" -gt 1 ]; then cat "$work/err" >&2; exit 1; fi
    walls+=("$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2, p, ":"); s=0; for (i=1; i<=n; i++) s=s*60+p[i]; print s}' "$work/time")")
    cpus+=("$(awk -F': ' '/User time|System time/ {s+=$2} END {print s}' "$work/time")")
    rss+=("$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")")
  done
  local wall cpu peak
  wall=$(printf '%s\n' "${walls[@]}" | sort -g | sed -n "$(( (runs + 1) / 2 ))p")
  cpu=$(printf '%s\n' "${cpus[@]}" | sort -g | sed -n "$(( (runs + 1) / 2 ))p")
  peak=$(printf '%s\n' "${rss[@]}" | sort -g | sed -n "$(( (runs + 1) / 2 ))p")
  printf '%-38s %8.2fs %8.2fs %8.0f MiB %6s %9s\n' "$label" "$wall" "$cpu" "$((peak / 1024))" "$code" "$(wc -c <"$work/out.md")"
}

printf '%-38s %9s %9s %12s %6s %9s\n' "case" "wall" "CPU" "peak RSS" "exit" "md bytes"

mkdir -p "$work/ex"
cp -r examples/fleet "$work/ex/specs"
repo "$work/ex"
measure "examples: no change" "$work/ex"
sed -i 's/enableBackups: yes/enableBackups: no/; s/version: 2025.06.1/version: 2025.07.0/' "$work/ex/specs/billing/fleio.yaml"
measure "examples: backups off + upgrade" "$work/ex"

mkdir -p "$work/syn"
go run ./hack/bench -write-specs "$work/syn/specs" -n "$n"
repo "$work/syn"
measure "$n deployments x 3 clusters: no change" "$work/syn"
sed -i 's/version: 2025.06.1/version: 2025.07.0/' "$work/syn/specs/tenant-0000.yaml"
measure "$n x 3: 10 deployments upgraded" "$work/syn"
sed -i 's/^      replicas: {backend: 2, web: 2}$/&\n      storage: {className: premium-ssd}/' "$work/syn/specs/fleet.yaml"
grep -q premium-ssd "$work/syn/specs/fleet.yaml" || { echo "bench-diff: hack/bench's fleet changed; update this script" >&2; exit 1; }
measure "$n x 3: + prod storage class (all)" "$work/syn"
