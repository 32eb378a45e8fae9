#!/usr/bin/env bash
# Images cowpoke's engine writes, judged by QEMU's tools: for N seeds, a
# seeded random request mix (concurrent, with and without a backing file
# written by qemu-io, cluster sizes 512 B to 2 MiB, qcow2 v2 and v3) runs
# through `cowpoke img mix`, which also writes the expected raw content;
# then `qemu-img check` must report no errors and no leaks, and
# `qemu-img compare` must find the image equal to the expected content.
source "$(dirname "$0")/lib.bash"
N=${INTEROP_ROUNDS:-50}
clusters=(512 4k 64k 64k 2M)
for ((i = 1; i <= N; i++)); do
  rnd 5; cs=${clusters[r]}
  rnd 4; compat=1.1; ((r)) || compat=0.10
  rnd 8; size=$((r + 2))M
  rm -f base.qcow2 top.qcow2 base.raw expect.raw
  rnd 2
  if ((r)); then
    qemu-img create -q -f qcow2 -o cluster_size=$cs,compat=$compat base.qcow2 $size
    pat; p1=$p; rnd 512; l1=$((r + 1)); rnd 1024; o2=$r
    qio -c "write -P $p1 0 ${l1}k" -c "write -P 0x07 ${o2}k 96k" base.qcow2
    qemu-img convert -O raw base.qcow2 base.raw
    "$COWPOKE" img create -o cluster_size=$cs,compat=$compat -b base.qcow2 -F qcow2 top.qcow2 >/dev/null
    refin=(--ref-in base.raw)
  else
    "$COWPOKE" img create -o cluster_size=$cs,compat=$compat top.qcow2 $size >/dev/null
    refin=()
  fi
  what="round $i (cluster $cs, compat $compat, ${#refin[@]} backing)"
  "$COWPOKE" img mix --seed $i --ops 150 --batch 4 "${refin[@]}" --ref-out expect.raw top.qcow2 >/dev/null ||
    fail "$what: cowpoke img mix failed"
  out=$(qemu-img check top.qcow2 2>&1) || fail "$what: qemu-img check: $out"
  qemu-img compare -q -f raw -F qcow2 expect.raw top.qcow2 ||
    fail "$what: qemu-img compare differs from the expected content"
  "$COWPOKE" img check top.qcow2 >/dev/null || fail "$what: cowpoke img check disagrees with qemu-img check"
done
echo "$N engine-written images: qemu-img check clean, qemu-img compare equal"
