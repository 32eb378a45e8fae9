#!/usr/bin/env bash
# `cowpoke emit-qemu-io` for real: scripts that use only qemu-io's commands
# (overlays, breakpoints on blkdebug, aio, discard, zero writes, v2 images,
# close/reopen, truncate, an opened image) must replay ok in cowpoke, and
# the emitted snippet must run as printed, in sh, with every qemu-io read
# that has -P passing (qemu-io exits 1 on "Pattern verification failed",
# and the snippet has `set -e`). A wrong -P must make the snippet fail,
# and scripts with cowpoke's extensions must be refused with the command
# and its line named.
source "$(dirname "$0")/lib.bash"

n=0
# run_snippet NAME: emit NAME.io and run the snippet in a folder of its own
# (output in NAME.out); its exit status.
run_snippet() {
  local name=$1
  "$COWPOKE" emit-qemu-io "$name.io" > "$name.sh" || fail "$name: emit-qemu-io failed"
  "$COWPOKE" replay --emit qemu-io "$name.io" > "$name.replay.sh" || fail "$name: replay --emit qemu-io failed"
  cmp -s "$name.sh" "$name.replay.sh" || fail "$name: replay --emit qemu-io differs from emit-qemu-io"
  mkdir "run-$name"
  [[ -f pre.qcow2 ]] && cp pre.qcow2 "run-$name/"
  (cd "run-$name" && sh "../$name.sh") > "$name.out" 2>&1
}
# emit_ok NAME: NAME.io replays ok in cowpoke, and its snippet runs clean.
emit_ok() {
  local name=$1
  "$COWPOKE" replay --quiet "$name.io" || fail "$name: cowpoke replay is not ok"
  if ! run_snippet "$name" || grep -q "Pattern verification failed" "$name.out"; then
    cat "$name.sh" "$name.out" >&2
    fail "$name: the emitted snippet failed"
  fi
  grep -q '^read ' "$name.out" || fail "$name: qemu-io read nothing"
  n=$((n + 1))
}

# The language page's example (without its `check`): an overlay,
# copy-on-write held at a breakpoint while another cluster is read.
cat > overlay.io <<'EOF'
# expect: ok
image create name=base size=2M cluster_size=64k
write -P 0x11 0 128k
image create size=2M backing=base
break cow_read A
aio_write -P 0x22 32k 8k
wait_break A
read -P 0x11 64k 64k
resume A
aio_flush
read -P 0x11 0 32k
read -P 0x22 32k 8k
read -P 0x11 40k 88k
EOF
emit_ok overlay

# v2, small clusters, zero writes, discard, FUA, pattern ranges,
# close/reopen and truncate.
cat > mixed.io <<'EOF'
image create name=disk size=1M cluster_size=4k version=2 refcount_bits=16
write -P 0x11 0 64k
write -f -P 0x33 64k 8k
write -z 8k 4k
read -P 0x00 8k 4k
read -P 0x11 -s 4k -l 4k 0 12k
aio_write -P 0x44 128k 16k
aio_read -P 0x11 16k 16k
aio_flush
flush
discard 256k 64k
close
reopen
read -P 0x44 128k 16k
read -P 0x33 64k 8k
truncate 2M
write -P 0x55 1536k 4k
read -P 0x55 1536k 4k
read -P 0x00 1540k 4k
EOF
emit_ok mixed

# Unnamed images (a file name of their own each), a v3 overlay with a
# breakpoint on the L2 update and a zero write with unmap.
cat > chain.io <<'EOF'
image create size=1M
write -P 0x21 0 64k
image create name=mid size=1M cluster_size=16k
write -P 0x31 0 32k
image create size=1M backing=mid
break l2_update B
aio_write -P 0x41 16k 4k
wait_break B
resume B
aio_flush
write -z -u 0 16k
read -P 0x00 0 16k
read -P 0x41 16k 4k
read -P 0x31 20k 12k
EOF
emit_ok chain

# An image file made elsewhere, opened by name.
qemu-img create -q -f qcow2 pre.qcow2 1M
cat > opened.io <<'EOF'
image open pre.qcow2
write -P 0x61 4k 4k
read -P 0x61 4k 4k
EOF
emit_ok opened
rm -f pre.qcow2

# The check must be able to fail: a wrong -P fails the snippet.
cat > wrong.io <<'EOF'
image create size=1M
write -P 0x11 0 4k
read -P 0x12 0 4k
EOF
if run_snippet wrong; then
  fail "wrong: a snippet with a wrong -P ran clean"
fi
grep -q "Pattern verification failed" wrong.out || fail "wrong: no pattern failure reported"

# Extensions are refused, naming the command and its line.
for ext in "sched fifo" "check" "mutant avail_sectors" "crash" "host limit 1M" \
           "inject write errno=EIO" "policy werror=stop" "expect_error EIO"; do
  printf 'image create size=1M\nwrite -P 0x11 0 4k\n%s\nread 0 4k\n' "$ext" > ext.io
  if "$COWPOKE" emit-qemu-io ext.io > ext.sh 2> ext.err; then
    fail "'$ext' was not refused"
  fi
  grep -q "ext.io:3: '$ext' is a cowpoke extension" ext.err ||
    fail "'$ext': unexpected message: $(cat ext.err)"
done
echo "$n emitted snippets ran clean in qemu-io; wrong patterns fail; extensions refused"
