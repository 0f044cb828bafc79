#!/usr/bin/env bash
# The Kubernetes manifests' commands (deploy/k8s/*-job.yaml) run here, one "pod" per
# completion index with the environment an Indexed Job gives it (JOB_COMPLETION_INDEX, the
# ConfigMap's variables, the container's env), for N = 1, 2 and 3 shards; every output is
# compared byte for byte with the one-machine run.
#   k8s_manifests_test.sh QCAL_BINARY DEPS_DIR
set -euo pipefail
QCAL=$(realpath "$1")
DEPS=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
source "$here/common.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
make_inputs "$tmp"
export QCAL
run_one_machine "$tmp/one"
# The containers call `qcal` from PATH.
mkdir -p "$tmp/bin"
ln -s "$QCAL" "$tmp/bin/qcal"
for n in 1 2 3; do
  rm -rf "$QCAL_WORK"
  PATH="$tmp/bin:$PATH" python3 "$here/run_k8s_jobs.py" --shards "$n" "$root/deploy/k8s"
  compare_outputs "$tmp/one" "$QCAL_WORK" "k8s ($n shards)"
done
# The comparison itself fails on a changed byte (so the passes above mean something).
printf 'x' | dd of="$QCAL_WORK/out/calibration.cache" bs=1 seek=3 conv=notrunc status=none
if compare_outputs "$tmp/one" "$QCAL_WORK" "self-check" 2>/dev/null; then
  echo "FAIL: compare_outputs missed a changed byte" >&2
  exit 1
fi
echo "self-check: a changed byte is caught"
