#!/usr/bin/env bash
# The whole test suite: a warnings-as-errors release build with every test, then an
# ASan+UBSan build running the unit and conformance tests, with a bounded libFuzzer run of the
# model loader in between. Assumes scripts/setup.sh ran.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
JOBS=${QCAL_JOBS:-$(nproc)}

# stage NAME: ends the previous stage (printing its wall time to stderr) and starts NAME. CI's
# whole run has a time budget, so each stage says what it costs.
stage_name=""
stage_start=0
stage() {
  local now
  now=$(date +%s)
  [ -z "$stage_name" ] || echo "test.sh: stage '$stage_name' took $((now - stage_start)) s" >&2
  stage_name=$1
  stage_start=$now
  [ -z "$stage_name" ] || echo "test.sh: stage '$stage_name'" >&2
}
trap 'stage ""' EXIT

stage release-build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DQCAL_WERROR=ON
cmake --build build -j "$JOBS"

# Conventions checked by machine: formatting, the module arrows, function size and naming.
stage conventions
git ls-files -z '*.cpp' '*.hpp' '*.h' | xargs -0 clang-format --dry-run --Werror
scripts/check_includes.sh
JOBS=$JOBS scripts/check_tidy.sh build

stage release-tests
(cd build && ctest --output-on-failure -j "$JOBS" --timeout 900)

# Loader fuzzing for a bounded time (60 s), only where clang's libFuzzer runtime is installed
# (libclang-rt-14-dev). Seeds: the ONNX backend test models.
if command -v clang++ >/dev/null &&
   echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
     clang++ -x c++ -fsanitize=fuzzer - -o /tmp/qcal_fuzz_probe.$$ 2>/dev/null; then
  rm -f /tmp/qcal_fuzz_probe.$$
  stage fuzz
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address" \
    -DQCAL_BUILD_FUZZ=ON -DQCAL_BUILD_TESTS=OFF -DQCAL_BUILD_BENCH=OFF
  cmake --build build-fuzz -j "$JOBS" --target model_loader_fuzz
  corpus=$(mktemp -d)
  for t in test_conv_with_strides_padding test_gemm_all_attributes test_matmul_4d test_convtranspose; do
    cp "/usr/share/libonnx-testdata/data/node/$t/model.onnx" "$corpus/$t.onnx"
  done
  ./build-fuzz/fuzz/model_loader_fuzz -max_total_time=60 -rss_limit_mb=4096 -timeout=20 "$corpus"
  rm -rf "$corpus"
else
  echo "test.sh: clang libFuzzer not available; skipping the loader fuzz run" >&2
fi

# Last, so its summary closes the run.
stage asan
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DQCAL_SANITIZE=ON -DQCAL_WERROR=ON \
  -DQCAL_BUILD_BENCH=OFF
cmake --build build-asan -j "$JOBS"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
   ctest --output-on-failure -j "$JOBS" --timeout 1800 -L 'unit|conformance')
