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

now() { date +%s.%N; }
best_qcal=999
best_ffmpeg=999
for ((i = 0; i < RUNS; i++)); do
  # Alternate the order so neither tool always runs on a warmer cache.
  for tool in qcal ffmpeg; do
    rm -rf "$WORK/out" && mkdir -p "$WORK/out"
    t0=$(now)
    if [ "$tool" = qcal ]; then
      "$QCAL" frames "$WORK/clip.mp4" -o "$WORK/out" --fps 1 --quiet
    else
      ffmpeg -v error -i "$WORK/clip.mp4" -vf fps=1 "$WORK/out/out_%06d.jpg"
    fi
    t=$(echo "$(now) - $t0" | bc -l)
    n=$(find "$WORK/out" -name '*.jpg' | wc -l)
    printf '%-7s run %d: %.3f s, %d frames\n' "$tool" "$i" "$t" "$n"
    if [ "$tool" = qcal ]; then
      best_qcal=$(echo "if ($t < $best_qcal) $t else $best_qcal" | bc -l)
    else
      best_ffmpeg=$(echo "if ($t < $best_ffmpeg) $t else $best_ffmpeg" | bc -l)
    fi
  done
done
printf 'best of %d: qcal frames --fps 1 %.3f s, ffmpeg -vf fps=1 %.3f s\n' "$RUNS" "$best_qcal" "$best_ffmpeg"
printf 'ratio qcal/ffmpeg: %.2f (target <= 1.0)\n' "$(echo "$best_qcal / $best_ffmpeg" | bc -l)"
