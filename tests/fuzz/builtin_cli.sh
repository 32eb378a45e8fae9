#!/usr/bin/env bash
# tests/fuzz/builtin_cli.sh - `cowpoke fuzz` from the command line:
#   1. a bounded campaign with a zoo mutant finds it (exit 1), and every
#      reproducer it wrote replays with `cowpoke replay` to its expected
#      verdict (exit 0);
#   2. Ctrl-C (SIGINT) stops a campaign cleanly: the summary says so, stats
#      and queue are on disk, and --resume goes on from there;
#   3. a campaign of the same length on the correct engine finds nothing.
# Env: COWPOKE (the CLI), SRC (the source tree): set by ctest.
set -uo pipefail
cowpoke=${COWPOKE:?set COWPOKE to the cowpoke binary}
src=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/builtin_cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
say() { echo "builtin_cli: $*"; }

# 1. a mutant, bounded by executions (deterministic)
"$cowpoke" fuzz -o "$tmp/mut" --runs 600 --seed 1 --mutant avail_sectors \
  --corpus "$src/corpus" --quiet --shrink-time 60 >"$tmp/mut.log" 2>&1
rc=$?
cat "$tmp/mut.log"
[ $rc -eq 1 ] || { say "FAIL: --mutant avail_sectors exited $rc, expected 1"; fail=1; }
n=0
for r in "$tmp"/mut/*/trace.io "$tmp"/mut/*/repro.io; do
  [ -f "$r" ] || continue
  n=$((n + 1))
  "$cowpoke" replay --quiet "$r" || { say "FAIL: $r does not replay to its verdict"; fail=1; }
done
[ $n -gt 0 ] || { say "FAIL: no trace.io/repro.io written"; fail=1; }

# 2. Ctrl-C, then --resume
"$cowpoke" fuzz -o "$tmp/int" --time 300 --seed 2 --corpus "$src/corpus" \
  --quiet >"$tmp/int.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  [ -f "$tmp/int/fuzzer_stats" ] && [ -n "$(ls -A "$tmp/int/queue" 2>/dev/null)" ] && break
  sleep 0.1
done
kill -INT $pid
wait $pid
rc=$?
cat "$tmp/int.log"
{ [ $rc -eq 0 ] || [ $rc -eq 1 ]; } || { say "FAIL: after SIGINT exit $rc"; fail=1; }
grep -q "stopped (Ctrl-C)" "$tmp/int.log" || { say "FAIL: no stop summary"; fail=1; }
[ -f "$tmp/int/fuzzer_stats" ] && [ -f "$tmp/int/plot_data" ] ||
  { say "FAIL: fuzzer_stats/plot_data missing"; fail=1; }
head -1 "$tmp/int/plot_data" | grep -q '^# relative_time, cycles_done' ||
  { say "FAIL: plot_data header"; fail=1; }
queued=$(ls "$tmp/int/queue" | wc -l)
execs=$(awk -F: '/^execs_done/ {gsub(/ /,"",$2); print $2}' "$tmp/int/fuzzer_stats")
"$cowpoke" fuzz -o "$tmp/int" --seed 2 --corpus "$src/corpus" --quiet >/dev/null 2>&1
[ $? -eq 2 ] || { say "FAIL: reusing a campaign folder without --resume must fail"; fail=1; }
"$cowpoke" fuzz -o "$tmp/int" --resume --runs $((execs + 50)) --seed 2 \
  --corpus "$src/corpus" --quiet >"$tmp/resume.log" 2>&1
rc=$?
cat "$tmp/resume.log"
{ [ $rc -eq 0 ] || [ $rc -eq 1 ]; } || { say "FAIL: --resume exit $rc"; fail=1; }
execs2=$(awk -F: '/^execs_done/ {gsub(/ /,"",$2); print $2}' "$tmp/int/fuzzer_stats")
[ "$execs2" -eq $((execs + 50)) ] || { say "FAIL: resumed to $execs2 executions, expected $((execs + 50))"; fail=1; }
[ "$(ls "$tmp/int/queue" | wc -l)" -ge "$queued" ] || { say "FAIL: the queue shrank"; fail=1; }

# 3. the correct engine, same length as 1.
"$cowpoke" fuzz -o "$tmp/ok" --runs 600 --seed 1 --corpus "$src/corpus" \
  --quiet >"$tmp/ok.log" 2>&1
rc=$?
cat "$tmp/ok.log"
[ $rc -eq 0 ] || { say "FAIL: the correct engine gave findings (false alarms)"; fail=1; }
exit $fail
