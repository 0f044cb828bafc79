#!/usr/bin/env bash
# Detector INT8 accuracy on real labels (issue 21): calibrates on the first N images (sorted by
# name) of a labelled folder and evaluates FP32 and INT8 (the QDQ model run in ONNX Runtime) on
# the rest; prints FP32 and INT8 mAP50-95 and mAP50, the drop with its 90 % paired bootstrap
# interval over images, and INT8's agreement with FP32's own detections. The peer is FP32,
# measured in the same run on the same images.
# Usage: bash bench/detector_accuracy.sh [FOLDER] [-m MODEL] [-n N] [-k KEEP_DIR] [-- CALIBRATE_ARGS...]
#   FOLDER: images/ + labels/ (YOLO txt), default ../shared/fixtures/coco_val500 when present.
#   -m: default .deps/models/yolov8n.onnx; -n: calibration images (128); -k: keep the QDQ model,
#   ranges.json and eval.json there. QCAL (default build/tools/qcal/qcal), THREADS (default 2).
set -euo pipefail
folder=
model=.deps/models/yolov8n.onnx
n_calib=128
keep=
while (($#)); do
  case $1 in
    -m) model=$2; shift 2 ;;
    -n) n_calib=$2; shift 2 ;;
    -k) keep=$2; shift 2 ;;
    --) shift; break ;;
    -*) echo "detector_accuracy: unknown option $1" >&2; exit 2 ;;
    *) folder=$1; shift ;;
  esac
done
calib_args=("$@")
qcal=${QCAL:-build/tools/qcal/qcal}
threads=${THREADS:-2}
if [ -z "$folder" ]; then
  folder=../shared/fixtures/coco_val500
  if [ ! -d "$folder" ]; then
    echo "detector_accuracy: no folder given and $folder is not present" >&2
    exit 2
  fi
fi
for d in "$folder/images" "$folder/labels"; do
  [ -d "$d" ] || { echo "detector_accuracy: $d: no such folder (need images/ and labels/)" >&2; exit 2; }
done
folder=$(cd "$folder" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/calib" "$tmp/eval"
mapfile -t images < <(cd "$folder/images" && find . -maxdepth 1 -type f \
  \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' -o -iname '*.bmp' -o -iname '*.webp' \) \
  -printf '%f\n' | LC_ALL=C sort)
if ((${#images[@]} <= n_calib)); then
  echo "detector_accuracy: $folder/images has ${#images[@]} images; need more than $n_calib" >&2
  exit 2
fi
for i in "${!images[@]}"; do
  if ((i < n_calib)); then dest=$tmp/calib; else dest=$tmp/eval; fi
  ln -s "$folder/images/${images[$i]}" "$dest/${images[$i]}"
done
stem=$(basename "$model" .onnx)
start=$(date +%s.%N)
"$qcal" calibrate "$model" --data "$tmp/calib" --recipe yolo -o "$tmp/out" --threads "$threads" \
  --no-report -q "${calib_args[@]}" > "$tmp/calibrate.log"
calibrated=$(date +%s.%N)
"$qcal" eval "$model" "$tmp/out/$stem.qdq.onnx" --data "$tmp/eval" --labels "$folder/labels" \
  --recipe yolo --task yolo --runtime ort --threads "$threads" -o "$tmp/evalout" -q \
  --json-file "$tmp/eval.json" > /dev/null
done_at=$(date +%s.%N)
if [ -n "$keep" ]; then
  mkdir -p "$keep"
  cp "$tmp/out/$stem.qdq.onnx" "$tmp/out/ranges.json" "$tmp/eval.json" "$keep/"
fi
/usr/bin/python3 - "$tmp/eval.json" "$n_calib" "$start" "$calibrated" "$done_at" \
  "${calib_args[*]:-}" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
n_calib, t0, t1, t2, args = int(sys.argv[2]), *map(float, sys.argv[3:6]), sys.argv[6]
m, det = j["metrics"], j["detection"]
iv, agree = det["drop_interval"], det["int8_vs_fp32"]
print(f"detector accuracy: {j['fp32_model']}, calibrated on {n_calib} images"
      f"{' (' + args + ')' if args else ''}, evaluated on {j['samples']} others, INT8 in ONNX Runtime")
print(f"            FP32     INT8     drop (pp)")
for k, label in (("map50_95", "mAP50-95"), ("map50", "mAP50")):
    print(f"{label:10}  {m[k]['fp32']:.4f}   {m[k]['int8']:.4f}   {m[k]['drop']:.2f}")
print(f"mAP50-95 drop {iv['drop']:.2f} pp, 90 % paired bootstrap interval {iv['lower']:.2f} to "
      f"{iv['upper']:.2f} ({iv['used']} resamples)")
print(f"agreement with FP32's detections (score > {agree['score_threshold']}): mAP50-95 "
      f"{agree['map50_95']:.4f}, mAP50 {agree['map50']:.4f}; F1 "
      f"{j['objects']['int8_vs_fp32']['f1']:.4f}")
print(f"time: calibrate {t1 - t0:.1f} s, eval (FP32 + INT8) {t2 - t1:.1f} s")
PY
