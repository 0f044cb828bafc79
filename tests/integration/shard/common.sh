# Shared by the sharded-pipeline tests: tiny inputs, the one-machine reference run and the
# byte-for-byte comparison. Source it after setting QCAL (the binary) and DEPS (.deps).
set -euo pipefail

# Four short "cameras" (copies of Debian's vtest.avi: four videos to shard by video), the
# small BlazeFace model, and the pipeline's settings (deploy/slurm/env.example.sh's names).
make_inputs() {
  local root=$1
  local video=/usr/share/doc/opencv-doc/examples/data/vtest.avi
  local model=$DEPS/models/face_detection_front_128x128_barracuda.onnx
  [ -f "$video" ] || { echo "missing $video (opencv-doc, scripts/setup.sh)" >&2; return 1; }
  [ -f "$model" ] || { echo "missing $model (scripts/setup.sh)" >&2; return 1; }
  mkdir -p "$root/videos"
  for cam in cam_a cam_b cam_c cam_d; do cp "$video" "$root/videos/$cam.avi"; done
  cp "$model" "$root/model.onnx"
  export QCAL_WORK=$root/work QCAL_VIDEOS=$root/videos QCAL_MODEL=$root/model.onnx
  export QCAL_RECIPE=yolo QCAL_SELECT_N=6
  export QCAL_FRAMES_ARGS="--fps 2 --end 2" QCAL_SCORE_ARGS="--input-size 128 128"
  export QCAL_SELECT_ARGS="--strategy diverse --threshold 0 --seed 7"
  export QCAL_CALIBRATE_ARGS="--no-report -q"
}

# The one-machine run, in $QCAL_WORK (outputs name their paths, so the sharded runs must use
# the same ones), then moved to $1.
# shellcheck disable=SC2086
run_one_machine() {
  local keep=$1
  "$QCAL" frames $QCAL_VIDEOS -o "$QCAL_WORK/frames" $QCAL_FRAMES_ARGS -q
  "$QCAL" select "$QCAL_WORK/frames" -n "$QCAL_SELECT_N" -o "$QCAL_WORK/calib" $QCAL_SCORE_ARGS \
    $QCAL_SELECT_ARGS -q
  "$QCAL" calibrate "$QCAL_MODEL" --data "$QCAL_WORK/calib" --recipe "$QCAL_RECIPE" \
    -o "$QCAL_WORK/out" $QCAL_CALIBRATE_ARGS >/dev/null
  mv "$QCAL_WORK" "$keep"
}

# Every output of the one-machine run in $1 is in $2 with the same bytes: frames and
# frames.csv, the chosen images, calibration_analysis.json and README.md, the QDQ model,
# calibration.cache and ranges.json. Prints what differs; fails on any difference.
compare_outputs() {
  local one=$1 sharded=$2 label=$3 bad=0 count=0 f
  while IFS= read -r f; do
    count=$((count + 1))
    if ! cmp -s "$one/$f" "$sharded/$f"; then
      echo "$label: $f differs from the one-machine run" >&2
      bad=1
    fi
  # calibration_samples.json (eval's overlap check, from main) is written empty by a
  # --from-stats run, which sees no samples: not yet carried through the shards' statistics.
  done < <(cd "$one" && find frames calib out -type f ! -name calibration_samples.json | sort)
  [ "$count" -ge 20 ] || { echo "$label: only $count outputs compared" >&2; return 1; }
  # The sharded run wrote no frames or chosen images the one-machine run did not.
  for d in frames calib; do
    if [ "$(cd "$sharded/$d" && find . -type f ! -name 'frames.shard-*' | sort)" != \
      "$(cd "$one/$d" && find . -type f | sort)" ]; then
      echo "$label: $d/ holds other files than the one-machine run's" >&2
      bad=1
    fi
  done
  ((bad == 0)) && echo "$label: $count outputs identical to the one-machine run"
  return "$bad"
}
