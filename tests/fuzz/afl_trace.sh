#!/usr/bin/env bash
# tests/fuzz/afl_trace.sh - a bounded AFL++ campaign against the correct
# engine: build fuzz/afl_trace.c with scripts/build-afl.sh (into
# $BUILD/afl-test), run afl-fuzz for AFL_SECONDS (default 30) from the
# encoded corpus, and demand that it executed inputs, kept some, and saved
# no crash (a crash on the correct engine is a false alarm: a bug). Each
# saved crash is printed with its trace. Exits 77 (skipped) only when
# afl-clang-fast or afl-fuzz is missing. Env: SRC, BUILD (set by ctest).
set -uo pipefail
src=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${BUILD:-$src/build/default}
for tool in afl-clang-fast afl-fuzz; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "afl_trace: SKIP: $tool not found (Debian: apt-get install afl++)"
    exit 77
  fi
done
out=$build/afl-test
bash "$src/scripts/build-afl.sh" "$out" || { echo "afl_trace: build failed"; exit 1; }
rm -rf "$out/out"
dict=()
[ -f "$src/corpus/cowpoke.dict" ] && dict=(-x "$src/corpus/cowpoke.dict")
AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
  AFL_NO_AFFINITY=1 AFL_SKIP_BIN_CHECK=0 \
  timeout $((${AFL_SECONDS:-30} + 120)) \
  afl-fuzz -V "${AFL_SECONDS:-30}" -s 1 -i "$out/seeds" -o "$out/out" "${dict[@]}" \
  -- "$out/afl_trace" >"$out/afl-fuzz.log" 2>&1
rc=$?
stats=$out/out/default/fuzzer_stats
if [ ! -f "$stats" ]; then
  echo "afl_trace: afl-fuzz did not run (exit $rc):"
  tail -20 "$out/afl-fuzz.log"
  exit 1
fi
val() { awk -F: -v k="$1" '$1 ~ "^"k" *$" {gsub(/ /, "", $2); print $2}' "$stats"; }
execs=$(val execs_done)
corpus=$(val corpus_count)
crashes=$(val saved_crashes)
echo "afl_trace: execs_done=$execs corpus_count=$corpus saved_crashes=$crashes" \
  "execs_per_sec=$(val execs_per_sec) stability=$(val stability)"
fail=0
[ "${execs:-0}" -gt 0 ] || { echo "afl_trace: FAIL: no executions"; fail=1; }
[ "${corpus:-0}" -gt 0 ] || { echo "afl_trace: FAIL: empty corpus"; fail=1; }
if [ "${crashes:-0}" -gt 0 ]; then
  echo "afl_trace: FAIL: $crashes crash(es) on the correct engine (false alarms):"
  for c in "$out"/out/default/crashes/id:*; do
    echo "---- $c"
    "$out/afl_trace" <"$c" 2>&1 | head -60
  done
  fail=1
fi
exit $fail
