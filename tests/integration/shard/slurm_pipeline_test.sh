#!/usr/bin/env bash
# The sharded pipeline on a real Slurm: starts munged, slurmctld and slurmd for this machine
# (local_slurm.sh), submits deploy/slurm/submit.sh's five jobs (frames, score and stats as
# 3-task arrays), waits for the reduce job, and compares every output byte for byte with the
# one-machine run. The daemons it started are stopped on any exit.
#   slurm_pipeline_test.sh QCAL_BINARY DEPS_DIR
set -euo pipefail
QCAL=$(realpath "$1")
DEPS=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
for tool in munged slurmctld slurmd sbatch squeue scontrol; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
    { echo "FAIL: $tool is missing: scripts/setup.sh installs slurm-wlm and munge" >&2; exit 1; }
done
source "$here/common.sh"
source "$here/local_slurm.sh"
tmp=$(mktemp -d)
cleanup() {
  slurm_down
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"
make_inputs "$tmp"
export QCAL
run_one_machine "$tmp/one"

slurm_up "$tmp/slurm"
export QCAL_SHARDS=3
# The scripts' #SBATCH lines ask for production sizes; this node has few cores, so each step
# asks for one core (command-line options override the scripts' directives).
ids=$("$root/deploy/slurm/submit.sh" --cpus-per-task=1 --mem=1G)
jobs=$(echo "$ids" | tr '\n' ' ')
last=$(echo "$ids" | tail -n 1)
state=""
for _ in $(seq 1 180); do  # at most 90 s
  state=$(scontrol show job "$last" -o 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -n 1)
  case $state in
    JobState=COMPLETED | JobState=FAILED | JobState=CANCELLED | JobState=TIMEOUT) break ;;
  esac
  sleep 0.5
done
for id in $jobs; do
  # Array jobs: every task; each must have completed.
  if scontrol show job "$id" -o | grep -o 'JobState=[A-Z_]*' | grep -qv COMPLETED; then
    echo "FAIL: job $id did not complete:" >&2
    scontrol show job "$id" -o | grep -o 'JobId=[0-9]* \|JobState=[A-Z_]* Reason=[^ ]*' >&2
    tail -n 20 "$QCAL_WORK"/logs/*.out >&2 || true
    exit 1
  fi
done
echo "slurm: jobs $jobs completed"
compare_outputs "$tmp/one" "$QCAL_WORK" "slurm (3 shards)"
