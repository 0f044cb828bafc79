#!/usr/bin/env bash
# Benchmark: `qcal frames --fps 1` against its peer `ffmpeg -i clip -vf fps=1 out_%06d.jpg` on
# the same 1080p H.264 clip, side by side in one run; prints the ratio qcal/ffmpeg (target <= 1).
# Usage: bench/frames_vs_ffmpeg.sh [path/to/qcal] [runs]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QCAL=${1:-$ROOT/build/tools/qcal/qcal}
RUNS=${2:-3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# 10 s of 1920x1080 at 30 fps (300 frames), H.264 as phones and dashcams write it.
ffmpeg -v error -f lavfi -i testsrc2=size=1920x1080:rate=30 -t 10 \
  -c:v libx264 -preset veryfast -pix_fmt yuv420p "$WORK/clip.mp4"

# Each run reports wall-clock and CPU (user + sys) seconds: on a shared machine CPU time is the
# steadier measure of the work done; both ratios are printed.
measure() {  # measure OUTFILE CMD...: appends "wall cpu" for one run
  local out=$1; shift
  local TIMEFORMAT='%R %U %S'  # bash's own `time`: no dependency on GNU time
  { time "$@" 2>"$WORK/stderr"; } 2>"$WORK/time" || { cat "$WORK/stderr" >&2; exit 1; }
  awk '{printf "%s %.3f\n", $1, $2 + $3}' "$WORK/time" >>"$out"
}
: >"$WORK/qcal.times"
: >"$WORK/ffmpeg.times"
for ((i = 0; i < RUNS; i++)); do
  rm -rf "$WORK/out" && mkdir -p "$WORK/out"
  measure "$WORK/qcal.times" "$QCAL" frames "$WORK/clip.mp4" -o "$WORK/out" --fps 1 --quiet
  nq=$(find "$WORK/out" -name '*.jpg' | wc -l)
  rm -rf "$WORK/out" && mkdir -p "$WORK/out"
  measure "$WORK/ffmpeg.times" ffmpeg -v error -i "$WORK/clip.mp4" -vf fps=1 "$WORK/out/out_%06d.jpg"
  nf=$(find "$WORK/out" -name '*.jpg' | wc -l)
  printf 'run %d: qcal %s s wall %s s cpu (%d frames) | ffmpeg %s s wall %s s cpu (%d frames)\n' "$i" \
    $(tail -1 "$WORK/qcal.times") "$nq" $(tail -1 "$WORK/ffmpeg.times") "$nf"
done
best() { sort -g -k"$2" "$1" | head -1 | awk -v k="$2" '{print $k}'; }
qw=$(best "$WORK/qcal.times" 1); qc=$(best "$WORK/qcal.times" 2)
fw=$(best "$WORK/ffmpeg.times" 1); fc=$(best "$WORK/ffmpeg.times" 2)
printf 'best of %d: qcal frames --fps 1: %.3f s wall, %.3f s cpu; ffmpeg -vf fps=1: %.3f s wall, %.3f s cpu\n' \
  "$RUNS" "$qw" "$qc" "$fw" "$fc"
awk -v qw="$qw" -v fw="$fw" -v qc="$qc" -v fc="$fc" \
  'BEGIN { printf "ratio qcal/ffmpeg: wall %.2f, cpu %.2f (target <= 1.0)\n", qw / fw, qc / fc }'
