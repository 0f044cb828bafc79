#!/bin/bash
# Runs the pipeline's Jobs in order on the current kubectl context, waiting for each to
# complete (Kubernetes has no dependencies between Jobs). Set the shard count in each Indexed
# Job's completions and QCAL_SHARD_COUNT alike (sed -i 's/"3"/"8"/; s/: 3$/: 8/' *-job.yaml).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kubectl apply -f "$here/configmap.yaml"
for step in frames score choose stats reduce; do
  kubectl delete job "qcal-$step" --ignore-not-found
  kubectl apply -f "$here/$step-job.yaml"
  kubectl wait --for=condition=complete --timeout=24h "job/qcal-$step"
done
