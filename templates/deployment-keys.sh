# Create the deployment-keys Secret once. It is generated in the cluster,
# never stored in git, and not owned by Flux, so it is never pruned.
set -eu
if kubectl get secret "$SECRET_NAME" >/dev/null 2>&1; then
  echo "Secret $SECRET_NAME exists; keeping it"
  exit 0
fi
key() { head -c 64 /dev/urandom | base64 | tr -d '\n/+=' | head -c 50; }
kubectl create secret generic "$SECRET_NAME" \
  --from-literal=secretKey="$(key)" --from-literal=ssoSalt="$(key)" \
  || kubectl get secret "$SECRET_NAME"
kubectl label secret "$SECRET_NAME" app.kubernetes.io/managed-by=fleiogen app.kubernetes.io/instance="$INSTANCE" --overwrite
