#!/usr/bin/env bash
# `cowpoke bench --phase traces` as a behaviour test, never a timed one: the
# bench's fixed trace sets must all run ok on the correct engine in process
# (1,000 generated traces, the same with small requests, and 1,000
# fuzz-shaped ones: a false alarm there
# is a bug), the first 20 must run clean through qemu-img create + qemu-io,
# and every line the README documents must be printed with a figure.
source "$(dirname "$0")/lib.bash"

"$COWPOKE" bench --phase traces > bench.out 2>&1 || { cat bench.out; fail "bench exited non-zero"; }
cat bench.out
want() { grep -Eq "$1" bench.out || fail "no line matching: $1"; }
want '^traces, in-process executor +[0-9]+ traces/s .*; 0 not ok\)$'
want '^traces, data floor +[0-9]+ traces/s \([0-9]+ KiB written, [0-9]+ KiB read per trace'
want '^small-request traces, in-process +[0-9]+ traces/s .*; 0 not ok\)$'
want '^small-request traces, data floor +[0-9]+ traces/s'
want '^fuzz-shaped traces, in-process +[0-9]+ traces/s \(1000 traces .*; 0 not ok\)$'
want '^fuzz-shaped traces, data floor +[0-9]+ traces/s'
want '^traces via qemu-img \+ qemu-io +[0-9.]+ traces/s \(.*20 traces, 0 failed\)$'
want '^ratio +[0-9]+x faster per trace in-process \(at the data floor it would be [0-9]+x\)$'
echo "bench_traces: ok"
