#!/usr/bin/env bash
# Images QEMU writes, read by cowpoke's engine: for N seeds, qemu-img create
# (cluster sizes 512 B to 2 MiB, v2 and v3, with and without a backing file)
# plus a seeded qemu-io command list of writes (aligned and unaligned),
# discards and write-zeroes; the engine's reading of the whole disk
# (`cowpoke img read -o`) must equal `qemu-img convert -O raw` byte for byte,
# and cowpoke's checker must agree with qemu-img check that it is clean.
source "$(dirname "$0")/lib.bash"
N=${INTEROP_ROUNDS:-50}
clusters=(512 4k 64k 64k 2M)
# Apply a seeded command list to image $1 of $2 KiB.
run_qio() {
  local img=$1 kib=$2 args=() n off len
  rnd 12; n=$((r + 4))
  for ((k = 0; k < n; k++)); do
    rnd $((kib - 1)); off=${r}k; rnd 200; len=$((r + 1))k
    rnd 5
    case $r in
      0|1) pat; args+=(-c "write -P $p $off $len") ;;
      2) pat; rnd $((kib * 1024 - 4000)); args+=(-c "write -P $p $r 3333") ;;
      3) args+=(-c "discard $off $len") ;;
      4) rnd 2; u=; ((r)) || u=-u; args+=(-c "write -z $u $off $len") ;;
    esac
  done
  qemu-io "${args[@]}" "$img" >/dev/null 2>&1 || true # ranges past the end fail harmlessly
}
for ((i = 1; i <= N; i++)); do
  rnd 5; cs=${clusters[r]}
  rnd 4; compat=1.1; ((r)) || compat=0.10
  rnd 6; mib=$((r + 2))
  rm -f base.qcow2 top.qcow2 qemu.raw ours.raw
  rnd 2
  if ((r)); then
    qemu-img create -q -f qcow2 -o cluster_size=$cs,compat=$compat base.qcow2 $((mib - 1))M
    run_qio base.qcow2 $(((mib - 1) * 1024))
    qemu-img create -q -f qcow2 -o cluster_size=$cs,compat=$compat -b base.qcow2 -F qcow2 top.qcow2 ${mib}M
  else
    qemu-img create -q -f qcow2 -o cluster_size=$cs,compat=$compat top.qcow2 ${mib}M
  fi
  run_qio top.qcow2 $((mib * 1024))
  what="round $i (cluster $cs, compat $compat, ${mib}M)"
  qemu-img convert -O raw top.qcow2 qemu.raw
  "$COWPOKE" img read -o ours.raw top.qcow2 >/dev/null || fail "$what: cowpoke cannot read the image"
  cmp -s qemu.raw ours.raw ||
    fail "$what: cowpoke reads other bytes than qemu-img convert: $(cmp qemu.raw ours.raw | head -1)"
  qemu-img check -q top.qcow2 || fail "$what: qemu-img check unhappy with its own image"
  "$COWPOKE" img check top.qcow2 >/dev/null ||
    fail "$what: cowpoke img check reports damage qemu-img check does not"
done
echo "$N QEMU-written images read identically by cowpoke, checked clean by both checkers"
