#!/bin/bash
# Submits the qcal pipeline as five dependent jobs: frames (array) -> score (array) -> choose
# -> stats (array) -> reduce. Reads the settings of env.example.sh from the environment; extra
# arguments go to every sbatch (--partition, --account, --qos). Prints the job ids, the last
# (reduce) on the last line. A failed step cancels the steps after it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${QCAL_WORK:?set QCAL_WORK (see env.example.sh)}" "${QCAL_SHARDS:?}" "${QCAL_VIDEOS:?}"
: "${QCAL_MODEL:?}" "${QCAL_RECIPE:?}" "${QCAL_SELECT_N:?}"
export QCAL=${QCAL:-qcal} QCAL_FRAMES_ARGS=${QCAL_FRAMES_ARGS-} QCAL_SCORE_ARGS=${QCAL_SCORE_ARGS-}
export QCAL_SELECT_ARGS=${QCAL_SELECT_ARGS-} QCAL_CALIBRATE_ARGS=${QCAL_CALIBRATE_ARGS-}
mkdir -p "$QCAL_WORK/logs"
array="--array=0-$((QCAL_SHARDS - 1))"
common=(--parsable --export=ALL --kill-on-invalid-dep=yes -o "$QCAL_WORK/logs/%x-%A_%a.out" "$@")
submit() {  # submit DEPENDENCY SCRIPT [ARRAY]
  local dep=()
  [ -n "$1" ] && dep=(--dependency="afterok:$1")
  sbatch "${common[@]}" "${dep[@]}" ${3:+"$3"} "$here/$2" | cut -d';' -f1
}
frames=$(submit "" frames.sbatch "$array")
score=$(submit "$frames" score.sbatch "$array")
choose=$(submit "$score" choose.sbatch)
stats=$(submit "$choose" stats.sbatch "$array")
reduce=$(submit "$stats" reduce.sbatch)
echo "$frames $score $choose $stats"
echo "$reduce"
