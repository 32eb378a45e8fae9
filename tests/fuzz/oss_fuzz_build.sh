#!/usr/bin/env bash
# tests/fuzz/oss_fuzz_build.sh - fuzz/oss-fuzz/build.sh as OSS-Fuzz runs it
# for libFuzzer + AddressSanitizer (CC=clang, $CFLAGS, $LIB_FUZZING_ENGINE,
# $OUT, $WORK), then the built target for a bounded run on its own seed
# corpus zip, dictionary and options. Exits 77 (skipped) when clang, the
# libFuzzer runtime or zip is missing. Env: SRC, BUILD (set by ctest).
set -uo pipefail
src=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${BUILD:-$src/build/default}
for tool in clang clang++ zip unzip; do
  command -v $tool >/dev/null 2>&1 || { echo "oss_fuzz_build: SKIP: $tool not found"; exit 77; }
done
probe=$(mktemp -d /tmp/oss-probe-XXXXXX)
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' >"$probe/p.c"
if ! clang -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" 2>/dev/null; then
  rm -rf "$probe"
  echo "oss_fuzz_build: SKIP: no libFuzzer runtime (libclang-rt-14-dev)"
  exit 77
fi
rm -rf "$probe"
base=$build/oss-fuzz
rm -rf "$base" && mkdir -p "$base/out" "$base/work"
flags="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address,fuzzer-no-link"
env -u ASAN_OPTIONS COWPOKE_SRC="$src" OUT="$base/out" WORK="$base/work" CC=clang CXX=clang++ \
  CFLAGS="$flags" CXXFLAGS="$flags" LIB_FUZZING_ENGINE=-fsanitize=fuzzer \
  bash "$src/fuzz/oss-fuzz/build.sh" >"$base/build.log" 2>&1 ||
  { tail -30 "$base/build.log"; echo "oss_fuzz_build: FAIL: build.sh"; exit 1; }
out=$base/out
for f in trace_fuzzer trace_fuzzer_seed_corpus.zip trace_fuzzer.options; do
  [ -e "$out/$f" ] || { echo "oss_fuzz_build: FAIL: \$OUT/$f missing"; exit 1; }
done
mkdir -p "$base/seeds" "$base/new"
unzip -q -o "$out/trace_fuzzer_seed_corpus.zip" -d "$base/seeds"
dict=()
[ -f "$out/trace_fuzzer.dict" ] && dict=(-dict="$out/trace_fuzzer.dict")
"$out/trace_fuzzer" -runs=2000 -seed=1 -max_len=4096 "${dict[@]}" \
  -artifact_prefix="$base/" "$base/new" "$base/seeds" >"$base/run.log" 2>&1
rc=$?
tail -5 "$base/run.log"
[ $rc -eq 0 ] || { grep -A40 'finding' "$base/run.log" | head -60; echo "oss_fuzz_build: FAIL: the target exited $rc"; exit 1; }
echo "oss_fuzz_build: ok ($(ls "$base/seeds" | wc -l) seeds)"
