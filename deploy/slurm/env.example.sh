# Settings the qcal Slurm pipeline reads (source this, edit, then ./submit.sh). Every path must
# be on storage all nodes share (NFS, Lustre, GPFS), under the same name on every node.
export QCAL=${QCAL:-qcal}                        # the qcal binary (on PATH, or a shared path)
export QCAL_WORK=${QCAL_WORK:-/shared/qcal/run1}  # frames/, scores/, calib/, stats/, out/ go here
export QCAL_VIDEOS=${QCAL_VIDEOS:-/shared/footage}  # video files or folders (space-separated)
export QCAL_MODEL=${QCAL_MODEL:-/shared/models/yolov8n.onnx}
export QCAL_RECIPE=${QCAL_RECIPE:-yolo}          # preprocessing preset or recipe .json
export QCAL_SHARDS=${QCAL_SHARDS:-8}             # array tasks of each map step
export QCAL_SELECT_N=${QCAL_SELECT_N:-1000}      # calibration images to choose
# Extra options of each step (the same ones a one-machine run would take):
export QCAL_FRAMES_ARGS=${QCAL_FRAMES_ARGS:---fps 1}
export QCAL_SCORE_ARGS=${QCAL_SCORE_ARGS:-}      # --weights, --input-size
export QCAL_SELECT_ARGS=${QCAL_SELECT_ARGS:---strategy diverse}  # --threshold, --seed, --link
export QCAL_CALIBRATE_ARGS=${QCAL_CALIBRATE_ARGS:-}  # --method, -n, --num-bins ...
