#!/usr/bin/env bash
# The whole test suite: a warnings-as-errors release build with every test, then an
# ASan+UBSan build running the unit and conformance tests, with bounded libFuzzer runs
# of every file reader in between. Assumes scripts/setup.sh ran.
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

# Fuzzing of every reader of user files (fuzz/: the model loader, .npy, .npz, recipes, DX-COM
# configs, profiling CSVs, stats files, YOLO and COCO labels, accuracy JSON), each for a bounded
# time (QCAL_FUZZ_SECONDS, default 20) from its committed seeds, only where clang's libFuzzer
# runtime is installed (libclang-rt-14-dev). New inputs go to a scratch copy of the corpus; a
# finding fails the run and leaves its input under build-fuzz/findings/<target>/, to be fixed
# and committed to fuzz/corpus/<target>/ as a regression seed.
if command -v clang++ >/dev/null &&
   echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
     clang++ -x c++ -fsanitize=fuzzer - -o /tmp/qcal_fuzz_probe.$$ 2>/dev/null; then
  rm -f /tmp/qcal_fuzz_probe.$$
  stage fuzz
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address" \
    -DQCAL_BUILD_FUZZ=ON -DQCAL_BUILD_TESTS=OFF -DQCAL_BUILD_BENCH=OFF
  cmake --build build-fuzz -j "$JOBS" --target qcal_fuzzers
  scripts/run_fuzzers.sh build-fuzz "${QCAL_FUZZ_SECONDS:-20}"
else
  echo "test.sh: clang libFuzzer not available; skipping the fuzz runs" >&2
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
