#!/usr/bin/env bash
# Checks the module arrows: a file of a CMake target under src/ or tools/qcal may include
# "<module>/..." only for its own module or a module its target links (directly, PUBLIC or
# PRIVATE, then through the PUBLIC links of those libraries: what CMake itself propagates).
# Targets, sources and links are read from the CMakeLists.txt files; a module is a qcal_<module>
# library defined in src/<module>/. Prints file:line, the module and the target of each offence.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

mapfile -t lists < <(find src tools/qcal -name CMakeLists.txt | sort)

# One line per target: NAME<TAB>DIR<TAB>OWN_MODULE<TAB>ALLOWED_MODULES<TAB>SOURCES (the last two
# space-separated; "-" for none, and OWN_MODULE is "-" outside src/<module>/).
targets=$(awk '
  # Reads each CMakeLists.txt as one string without comments, then walks its commands.
  FNR == 1 && NR != 1 { parse(text, dir); text = "" }
  FNR == 1 { dir = FILENAME; sub(/\/?CMakeLists\.txt$/, "", dir) }
  { line = $0; sub(/#.*/, "", line); text = text " " line }
  END {
    parse(text, dir)
    for (t in target_dir) {
      delete seen; closure = ""
      # Direct links (any keyword), then what those reach through their PUBLIC links.
      n = split(links_all[t], direct, " ")
      for (i = 1; i <= n; ++i) add_public_closure(direct[i])
      allowed = ""
      for (d in seen) if (d in module_of) allowed = allowed " " module_of[d]
      own = (t in module_of) ? module_of[t] : "-"
      if (allowed == "") allowed = " -"  # read(1) would merge empty tab-separated fields
      if (sources[t] == "") sources[t] = " -"
      printf "%s\t%s\t%s\t%s\t%s\n", t, target_dir[t], own, substr(allowed, 2), substr(sources[t], 2)
    }
  }
  function add_public_closure(lib,   m, i, pub) {
    if (lib in seen) return
    seen[lib] = 1
    m = split(links_public[lib], pub, " ")
    for (i = 1; i <= m; ++i) add_public_closure(pub[i])
  }
  function parse(s, d,   cmd, args, tok, n, i, t, kw, head) {
    while (match(s, /(add_library|add_executable|target_sources|target_link_libraries)[ \t]*\([^)]*\)/)) {
      head = substr(s, RSTART, RLENGTH)
      s = substr(s, RSTART + RLENGTH)
      cmd = head; sub(/[ \t]*\(.*/, "", cmd)
      args = head; sub(/^[^(]*\(/, "", args); sub(/\)$/, "", args)
      n = split(args, tok, /[ \t]+/)
      i = 1; while (i <= n && tok[i] == "") ++i
      t = tok[i++]
      if (cmd == "add_library" || cmd == "add_executable") {
        target_dir[t] = d
        if (d ~ /^src\/[a-z_]+$/ && t == "qcal_" substr(d, 5)) module_of[t] = substr(d, 5)
      }
      kw = "PUBLIC"  # the plain signature links transitively
      for (; i <= n; ++i) {
        if (tok[i] == "") continue
        if (tok[i] ~ /^(PUBLIC|PRIVATE|INTERFACE|STATIC|SHARED|OBJECT)$/) { kw = tok[i]; continue }
        if (cmd == "target_link_libraries") {
          if (tok[i] !~ /^qcal_[a-z_]+$/) continue
          links_all[t] = links_all[t] " " tok[i]
          if (kw != "PRIVATE") links_public[t] = links_public[t] " " tok[i]
        } else if (tok[i] ~ /\.(cpp|cc|c)$/) {
          sources[t] = sources[t] " " d "/" tok[i]
        }
      }
    }
  }' "${lists[@]}" | sort)

# Module names: the first component of an include that the check cares about.
modules=" $(printf '%s\n' "$targets" | cut -f3 | grep -v '^-$' | sort -u | tr '\n' ' ')"

bad=0
checked=0
while IFS=$'\t' read -r target dir own allowed srcs; do
  # The target's files: its sources and the headers in the folders those sources are in.
  [ "$srcs" = "-" ] && continue
  read -r -a files <<<"$srcs"
  mapfile -t folders < <(printf '%s\n' "${files[@]}" | xargs -n1 dirname | sort -u)
  for folder in "${folders[@]}"; do
    for h in "$folder"/*.hpp "$folder"/*.h; do [ -e "$h" ] && files+=("$h"); done
  done
  for f in "${files[@]}"; do
    [ -f "$f" ] || { echo "check_includes: $target lists $f, which does not exist" >&2; bad=1; continue; }
    checked=$((checked + 1))
    while IFS=: read -r line module; do
      [[ "$modules" == *" $module "* ]] || continue  # not a module folder ("commands/...")
      [ "$module" = "$own" ] && continue
      [[ " $allowed " == *" $module "* ]] && continue
      echo "$f:$line: includes $module/ but $target does not link qcal_$module" \
        "(reaches: $allowed)" >&2
      bad=1
    done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[a-z_]+/' "$f" |
               sed -E 's/^([0-9]+):[^"]*"([a-z_]+)\/.*/\1:\2/')
  done
done <<<"$targets"

if ((bad)); then
  echo "check_includes: FAILED (a module that needs one above it is a sign that code sits in" \
    "the wrong module; or add the link in its CMakeLists.txt)" >&2
  exit 1
fi
echo "check_includes: ok ($(printf '%s\n' "$targets" | grep -c .) targets, $checked files)" >&2
