#!/usr/bin/env bash
# Write a synthetic fleet of specs into DIR: N FleioDeployments (default
# 100) in 10 tenant namespaces, run by 3 clusters (staging-1 on branch main,
# prod-eu and prod-us on branch prod). Used by hack/bench-diff.sh.
set -euo pipefail
dir=${1:?usage: synth-fleet.sh DIR [N]}
n=${2:-100}
mkdir -p "$dir"
tenants=""
for t in $(seq 0 9); do tenants="$tenants tenant-$t,"; done
tenants="[${tenants%,} ]"
cat >"$dir/fleet.yaml" <<YAML
apiVersion: fleiogen.io/v1alpha1
kind: Fleet
metadata:
  name: synthetic
spec:
  repository:
    url: https://git.example.com/platform/fleet.git
  ingress:
    className: nginx
  clusters:
    - {name: staging-1, environment: staging, branch: main, domain: staging.example.com, tenants: $tenants}
    - {name: prod-eu, environment: production, branch: prod, domain: prod-eu.example.com, tenants: $tenants}
    - {name: prod-us, environment: production, branch: prod, domain: prod-us.example.com, tenants: $tenants}
  environments:
    - name: staging
      hostTemplate: "{name}.{namespace}.{clusterDomain}"
      acme: {email: platform@example.com}
    - name: production
      acme: {email: platform@example.com}
      storage: {className: fast-ssd}
      replicas: {backend: 3, web: 2}
YAML
for t in $(seq 0 9); do
  ns=tenant-$t
  mkdir -p "$dir/$ns"
  cat >"$dir/$ns/connections.yaml" <<YAML
apiVersion: k8s.fleio.com/v1
kind: FleioDbConnection
metadata: {name: db, namespace: $ns}
spec: {hostname: mariadb.databases.svc, port: 3306, credentialsSecret: db-credentials, databaseName: fleio_$t}
---
apiVersion: k8s.fleio.com/v1
kind: FleioRedisConnection
metadata: {name: redis, namespace: $ns}
spec: {hostname: redis.databases.svc, port: 6379, credentialsSecret: redis-credentials, databaseId: "$t"}
YAML
done
for i in $(seq 0 $((n - 1))); do
  t=$((i % 10))
  ns=tenant-$t
  cat >"$dir/$ns/fleio-$i.yaml" <<YAML
apiVersion: k8s.fleio.com/v1
kind: FleioDeployment
metadata: {name: fleio-$i, namespace: $ns}
spec:
  version: 2025.06.1
  license: {uuid: 00000000-0000-4000-8000-$(printf %012d "$i")}
  databaseConnection: db
  redisConnection: redis
  adminCredentialsSecret: admin-$i
  domain: fleio-$i.example.com
  enableBackups: yes
YAML
done
