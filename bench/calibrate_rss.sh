#!/usr/bin/env bash
# Peak RSS of `qcal calibrate` on 100 vs 1000 real images (frames of the opencv-doc sample
# videos, preprocessed on the fly with the yolo recipe): statistics stream, so the two must be
# within 5%. Prints both and the ratio.
# Usage: bash bench/calibrate_rss.sh [MODEL.onnx] [QCAL]
set -euo pipefail
model=${1:-.deps/models/yolov8n.onnx}
qcal=${2:-build/tools/qcal/qcal}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$tmp/frames" <<'PY'
import os, sys, cv2
out = sys.argv[1]
os.makedirs(out)
n = 0
for name in ("vtest.avi", "Megamind.avi", "Megamind_bugy.avi"):
    cap = cv2.VideoCapture("/usr/share/doc/opencv-doc/examples/data/" + name)
    while n < 1000:
        ok, frame = cap.read()
        if not ok:
            break
        cv2.imwrite(f"{out}/{n:05d}.jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
        n += 1
print(n, "frames", file=sys.stderr)
PY
declare -A rss
for n in 100 1000; do
  /usr/bin/time -f "%M" -o "$tmp/rss$n" "$qcal" calibrate "$model" --data "$tmp/frames" \
    --recipe yolo -n "$n" -o "$tmp/out$n" -q > /dev/null
  rss[$n]=$(cat "$tmp/rss$n")
  echo "images $n: peak RSS ${rss[$n]} KiB"
done
awk -v a="${rss[100]}" -v b="${rss[1000]}" 'BEGIN { printf "ratio 1000/100: %.3f (goal <= 1.05)\n", b / a }'
