#!/usr/bin/env bash
# Runs clang-tidy (the two checks in .clang-tidy: function size, identifier naming) over every
# translation unit under src/ and tools/, in parallel; fails listing each finding once.
# Usage: scripts/check_tidy.sh [BUILD_DIR]   (default build/; needs its compile_commands.json)
# Environment: JOBS (default nproc), CLANG_TIDY (default clang-tidy-14, else clang-tidy).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build}
JOBS=${JOBS:-$(nproc)}
if [ -z "${CLANG_TIDY:-}" ]; then
  CLANG_TIDY=$(command -v clang-tidy-14 || command -v clang-tidy || true)
fi
if [ -z "$CLANG_TIDY" ]; then
  echo "check_tidy: clang-tidy not found (Debian: apt-get install clang-tidy)" >&2
  exit 1
fi
if [ ! -f "$BUILD/compile_commands.json" ]; then
  echo "check_tidy: $BUILD/compile_commands.json missing (configure with cmake first;" \
    "CMAKE_EXPORT_COMPILE_COMMANDS is on in CMakeLists.txt)" >&2
  exit 1
fi

# The translation units: CMake writes one `"file": "..."` line per entry. Tests, benchmarks and
# fuzz targets are not checked.
mapfile -t units < <(sed -n 's/^ *"file": "\(.*\)",\{0,1\}$/\1/p' "$BUILD/compile_commands.json" |
  grep -E "^$ROOT/(src|tools)/" | sort -u)
if ((${#units[@]} == 0)); then
  echo "check_tidy: no src/ or tools/ translation units in $BUILD/compile_commands.json" >&2
  exit 1
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# One log and one exit status per unit. --quiet drops the "N warnings generated" chatter;
# system headers are parsed but never reported.
export CLANG_TIDY BUILD ROOT logs
printf '%s\n' "${units[@]}" | xargs -P "$JOBS" -I{} sh -c '
  log="$logs/$(echo "$1" | tr / _)"
  rc=0
  "$CLANG_TIDY" -p "$BUILD" --quiet --header-filter="^$ROOT/(src|tools)/" "$1" \
    >"$log.log" 2>&1 || rc=$?
  echo "$rc" >"$log.rc"' sh {}

# Findings: "path:line:col: warning|error: message [check]", with the function-size note
# ("N lines including whitespace and comments (threshold 120)") appended. A header's finding
# shows up once per unit that includes it, so they are deduplicated.
findings=$(awk '
  /^[^ ].*:[0-9]+:[0-9]+: (warning|error): / { if (f != "") print f; f = $0; next }
  /: note: [0-9]+ lines including/ && f != "" { sub(/.*: note: /, ""); f = f " -- " $0; next }
  # Source excerpts, carets and other notes are left out.
  END { if (f != "") print f }' "$logs"/*.log | sed "s|^$ROOT/||" | sort -u)
# A unit that failed without a finding (a crash, an unreadable file) is a failure too.
crashed=()
for unit in "${units[@]}"; do
  log="$logs/$(echo "$unit" | tr / _)"
  if [ "$(cat "$log.rc")" != 0 ] &&
     ! grep -qE '^[^ ].*:[0-9]+:[0-9]+: (warning|error): ' "$log.log"; then
    crashed+=("$unit")
  fi
done
if [ -n "$findings" ] || ((${#crashed[@]})); then
  if [ -n "$findings" ]; then
    echo "check_tidy: findings (the rules: .clang-tidy):" >&2
    printf '%s\n' "$findings" >&2
  fi
  for unit in "${crashed[@]}"; do
    echo "check_tidy: clang-tidy failed on ${unit#"$ROOT"/} with no finding; its output:" >&2
    head -n 60 "$logs/$(echo "$unit" | tr / _).log" >&2
  done
  n=$(printf '%s\n' "$findings" | grep -c . || true)
  echo "check_tidy: FAILED: $n finding(s), ${#crashed[@]} failed unit(s), ${#units[@]} units" >&2
  exit 1
fi
echo "check_tidy: ok (${#units[@]} units, $JOBS jobs)" >&2
