#!/usr/bin/env bash
# scripts/build-afl.sh - build cowpoke's AFL++ target with afl-clang-fast.
#
#   scripts/build-afl.sh [OUTDIR]        (default: build/afl)
#
# Builds the libraries (instrumented by afl-clang-fast, through CMake) and
# `cowpoke` into OUTDIR, links fuzz/afl_trace.c (persistent mode, shared-
# memory test cases) against them as OUTDIR/afl_trace, and writes the seed
# inputs (corpus/*.io encoded for the trace decoder) to OUTDIR/seeds.
# Then, for example:
#
#   AFL_SKIP_CPUFREQ=1 afl-fuzz -i build/afl/seeds -o build/afl/out \
#       -x corpus/cowpoke.dict -- build/afl/afl_trace
#
# Exits 77 (a skip, for ctest) when afl-clang-fast is not installed.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$src/build/afl}
if ! command -v afl-clang-fast >/dev/null 2>&1; then
  echo "build-afl: afl-clang-fast not found (Debian: apt-get install afl++)" >&2
  exit 77
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
export AFL_QUIET=1
CC=afl-clang-fast cmake -S "$src" -B "$out" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$out" --target cowpoke_replay cowpoke -j2 >/dev/null
afl-clang-fast -O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
  -I"$src/engine" -I"$src/models" -I"$src/harness" -I"$src/replay" \
  "$src/fuzz/afl_trace.c" \
  "$out/libcowpoke_replay.a" "$out/libcowpoke_harness.a" \
  "$out/libcowpoke_engine.a" "$out/libcowpoke_models.a" \
  -lxxhash -lm -o "$out/afl_trace"
rm -rf "$out/seeds"
"$out/cowpoke" fuzz --export-seeds "$out/seeds" --corpus "$src/corpus" >/dev/null
# A corpus the encoder cannot express at all still gives AFL++ a start.
[ -n "$(ls -A "$out/seeds")" ] || printf '\xff' >"$out/seeds/empty"
echo "build-afl: $out/afl_trace (seeds: $out/seeds, $(ls "$out/seeds" | wc -l) files)"
