#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for SECONDS each, from fuzz/corpus/<target>/ (plus
# the ONNX backend test models for the loader). Usage: run_fuzzers.sh BUILD_DIR [SECONDS]
# [TARGET...]. New corpus entries go to a scratch folder that is removed; a finding's input is
# kept under BUILD_DIR/findings/<target>/ and the script exits 1 after running every target.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(cd "$1" && pwd)
SECONDS_EACH=${2:-20}
shift $(($# < 2 ? $# : 2))
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(ls "$ROOT/fuzz/corpus")
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
for t in "${TARGETS[@]}"; do
  exe="$BUILD/fuzz/${t}_fuzz"
  [ -x "$exe" ] || { echo "run_fuzzers: no fuzzer $exe" >&2; exit 1; }
  work="$scratch/$t"
  mkdir -p "$work/corpus" "$work/tmp" "$BUILD/findings/$t"
  cp "$ROOT/fuzz/corpus/$t/"* "$work/corpus/"
  if [ "$t" = model_loader ]; then
    for m in test_conv_with_strides_padding test_gemm_all_attributes test_matmul_4d \
             test_convtranspose; do
      f=/usr/share/libonnx-testdata/data/node/$m/model.onnx
      [ -f "$f" ] && cp "$f" "$work/corpus/$m.onnx"
    done
  fi
  echo "run_fuzzers: $t for ${SECONDS_EACH} s" >&2
  # -rss_limit_mb also bounds single allocations (malloc_limit_mb defaults to it); the log goes
  # to a file and only its tail is shown, so a clean run stays quiet.
  if ! TMPDIR="$work/tmp" "$exe" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$BUILD/findings/$t/" "$work/corpus" \
      >"$work/log" 2>&1; then
    tail -n 60 "$work/log" >&2
    failed+=("$t")
  else
    grep -E '^(stat::number_of_executed_units|stat::new_units_added)' "$work/log" |
      sed "s/^/run_fuzzers: $t: /" >&2 || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "run_fuzzers: findings in: ${failed[*]} (inputs under $BUILD/findings/)" >&2
  exit 1
fi
