#!/bin/bash -eu
# fuzz/oss-fuzz/build.sh - OSS-Fuzz / ClusterFuzzLite build of cowpoke's
# trace fuzzer (fuzz/trace_fuzzer.c).
#
# The contract: compile with $CC $CFLAGS, link with $LIB_FUZZING_ENGINE
# (through $CXX, as the engines are C++), put each target in $OUT with
# <target>_seed_corpus.zip, <target>.dict and <target>.options. The same
# script builds for libFuzzer, AFL++ and honggfuzz: only the environment
# changes. The project's Dockerfile needs `apt-get install -y libxxhash-dev
# zip` (the header only: xxHash is compiled in from it below, so the
# runner needs no library) and `git clone ... $SRC/cowpoke`.
#
# Local check, as OSS-Fuzz would run it for libFuzzer + ASan:
#   COWPOKE_SRC=$PWD OUT=/tmp/oss/out WORK=/tmp/oss/work CC=clang CXX=clang++ \
#   CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address,fuzzer-no-link" \
#   CXXFLAGS="$CFLAGS" LIB_FUZZING_ENGINE=-fsanitize=fuzzer bash fuzz/oss-fuzz/build.sh
src=${COWPOKE_SRC:-$SRC/cowpoke}
cd "$src"
mkdir -p "$WORK/obj" "$WORK/native" "$WORK/seeds" "$OUT"
inc="-I$src/engine -I$src/models -I$src/harness -I$src/replay -I$src/cli"
libsrcs=$(ls engine/*.c models/*.c harness/*.c replay/*.c)
printf '#define XXH_IMPLEMENTATION\n#define XXH_STATIC_LINKING_ONLY\n#include <xxhash.h>\n' \
  >"$WORK/xxhash_impl.c"

# compile OBJDIR CC FLAGS... : every library source (and xxHash) into OBJDIR.
compile() {
  local dir=$1 cc=$2
  shift 2
  for f in $libsrcs "$WORK/xxhash_impl.c"; do
    local extra=""
    # the coroutine switch jumps between stacks: no _FORTIFY_SOURCE there
    [ "$f" = harness/coro.c ] && extra="-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=0"
    $cc "$@" $extra -std=gnu11 -D_GNU_SOURCE $inc -c "$f" \
      -o "$dir/$(echo "$f" | tr / _).o"
  done
}

# 1. Seeds: a plain build of the cowpoke CLI encodes corpus/*.io for the
#    trace decoder (`cowpoke fuzz --export-seeds`).
compile "$WORK/native" "${NATIVE_CC:-cc}" -O1
"${NATIVE_CC:-cc}" -O1 -std=gnu11 -D_GNU_SOURCE $inc cli/*.c "$WORK"/native/*.o -lm \
  -o "$WORK/cowpoke"
rm -rf "$WORK/seeds" && "$WORK/cowpoke" fuzz --export-seeds "$WORK/seeds" --corpus corpus
rm -f "$OUT/trace_fuzzer_seed_corpus.zip"
(cd "$WORK/seeds" && zip -q -j "$OUT/trace_fuzzer_seed_corpus.zip" ./*)

# 2. The target, with the fuzzing engine's flags.
compile "$WORK/obj" "$CC" $CFLAGS
$CC $CFLAGS -std=gnu11 -D_GNU_SOURCE $inc -c fuzz/trace_fuzzer.c -o "$WORK/trace_fuzzer.o"
$CXX $CXXFLAGS "$WORK/trace_fuzzer.o" "$WORK"/obj/*.o $LIB_FUZZING_ENGINE -lm \
  -o "$OUT/trace_fuzzer"

# 3. Dictionary and options.
if [ -f corpus/cowpoke.dict ]; then cp corpus/cowpoke.dict "$OUT/trace_fuzzer.dict"; fi
printf '[libfuzzer]\nmax_len = 4096\ntimeout = 25\n' >"$OUT/trace_fuzzer.options"
