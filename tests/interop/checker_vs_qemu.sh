#!/usr/bin/env bash
# cowpoke's metadata checker against qemu-img check, on damaged images.
# qemu-img/qemu-io write images (data over several L2 tables and, with
# 512 B clusters, several refcount blocks; one cluster written and then
# discarded, so a free cluster lies inside the file); then each copy is
# damaged at offsets read from its own header with od, written with dd:
#   - targeted: a leak (a free cluster's refcount raised), a live cluster's
#     refcount raised or lowered to 0 (data, L2 table, L1 table), an L2
#     entry pointing at the L1 or the refcount table, a misaligned L2 offset
#     in L1, a misaligned data offset in L2, two guest clusters sharing one
#     host cluster, OFLAG_COPIED cleared in L1 and in L2, a data cluster
#     past the end of the file, a refcount table entry zeroed, a misaligned
#     snapshot table offset (with no snapshots);
#   - seeded one-bit flips (FLIPS, default 60) in the header, L1, L2,
#     refcount table and refcount blocks.
# Each image goes to `qemu-img check` and `cowpoke img check`: their exit
# code classes (0 clean, 1 check not completed, 2 corruptions, 3 leaks only)
# must be equal; targeted cases must also have the class they were built
# for. Every disagreement is printed with both outputs and fails the test
# at the end. VERBOSE=1 prints both outputs for every image.
source "$(dirname "$0")/lib.bash"
FLIPS=${FLIPS:-60}
disagree=()
judged=0
declare -A freed

# rd FILE OFF N: v := the big-endian unsigned N-byte number at OFF.
rd() {
  local h
  h=$(od -An -v -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n')
  v=$((16#${h:-0}))
}
# wr FILE OFF N VALUE: store VALUE big-endian in N bytes at OFF.
wr() {
  local s='' i
  for ((i = $3 - 1; i >= 0; i--)); do printf -v s '%s\\x%02x' "$s" $((($4 >> (8 * i)) & 255)); done
  printf "$s" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# hdr FILE: the geometry of a qcow2 image (16-bit refcounts assumed in v2).
hdr() {
  rd "$1" 4 4; version=$v
  rd "$1" 20 4; cb=$v; cs=$((1 << cb))
  rd "$1" 36 4; l1_size=$v
  rd "$1" 40 8; l1_off=$v
  rd "$1" 48 8; rt_off=$v
  order=4
  if ((version >= 3)); then rd "$1" 96 4; order=$v; fi
  ((order == 4)) || fail "$1: refcount_order $order, expected 4"
  rb_bits=$((cb + 3 - order))
}
OFF_MASK=0x00fffffffffffe00
COPIED=$((1 << 63))
# l1_at FILE GUEST: at := @ of the L1 entry, l2 := its L2 table offset.
l1_at() {
  at=$((l1_off + 8 * ($2 >> (2 * cb - 3))))
  rd "$1" $at 8; l2=$((v & OFF_MASK))
}
# l2_at FILE GUEST: at := @ of the L2 entry of GUEST, host := its cluster.
l2_at() {
  l1_at "$1" "$2"
  ((l2)) || fail "$1: guest offset $2 has no L2 table"
  at=$((l2 + 8 * (($2 >> cb) & (cs / 8 - 1))))
  rd "$1" $at 8; host=$((v & OFF_MASK))
}
# rc_at FILE HOST: at := @ of the refcount of the cluster at HOST.
rc_at() {
  local c=$(($2 >> cb))
  rd "$1" $((rt_off + 8 * (c >> rb_bits))) 8
  ((v)) || fail "$1: host offset $2 has no refcount block"
  at=$((v + 2 * (c & ((1 << rb_bits) - 1))))
}
class() {
  case $1 in
    0) echo clean ;; 1) echo "not completed" ;; 2) echo corruptions ;;
    3) echo "leaks only" ;; *) echo "exit $1" ;;
  esac
}
# judge NAME FILE [EXPECTED]: both checkers must give the same class, and
# EXPECTED (when given) is the class the damage was built to have.
judge() {
  local qo co q=0 c=0
  judged=$((judged + 1))
  qo=$(qemu-img check -f qcow2 "$2" 2>&1) || q=$?
  co=$("$COWPOKE" img check "$2" 2>&1) || c=$?
  if [ "${VERBOSE:-0}" = 1 ]; then
    printf '== %s: qemu-img %s, cowpoke %s\n%s\n--\n%s\n' "$1" "$q" "$c" "$qo" "$co"
  fi
  if [ "$q" != "$c" ]; then
    disagree+=("$1: qemu-img check says $(class $q), cowpoke img check says $(class $c)")
    printf 'DISAGREE %s\n-- qemu-img check (exit %s):\n%s\n-- cowpoke img check (exit %s):\n%s\n' \
      "$1" "$q" "$qo" "$c" "$co" >&2
  fi
  if [ -n "${3:-}" ] && [ "$q" != "$3" ]; then
    fail "$1: the damage did not have the intended effect: qemu-img check says $(class $q), wanted $(class $3)"$'\n'"$qo"
  fi
}

# base FILE CLUSTER COMPAT: data in three clusters at 0 (the middle one then
# discarded: freed[FILE] is its former host offset) and at the start of three
# more L2 ranges; with 512 B clusters also 300 KiB more (refcount blocks).
base() {
  local f=$1 c=$2 range size
  range=$((c * c / 8)); size=$((4 * range > 1048576 ? 4 * range : 1048576))
  qemu-img create -q -f qcow2 -o cluster_size=$c,compat=$3 "$f" $size
  qio -c "write -P 0x11 0 $((3 * c))" -c "write -P 0x22 $range $c" \
    -c "write -P 0x33 $((2 * range + c)) $((2 * c))" -c "write -P 0x44 $((3 * range)) 777" "$f"
  if ((c == 512)); then qio -c "write -P 0x55 $((5 * range)) 300k" "$f"; fi
  hdr "$f"; l2_at "$f" $c; freed[$f]=$host
  qio -c "discard $c $c" "$f"
  qemu-img check -q "$f" || fail "$f: qemu-img check unhappy with a fresh image"
}

# The targeted cases on a copy of base image $1 (prefix $2 for names).
targeted() {
  local b=$1 n=$2 f=case.qcow2 eof
  hdr "$b"
  cp "$b" $f; judge "$n clean" $f 0
  cp "$b" $f; rc_at $f ${freed[$b]}; wr $f $at 2 1; judge "$n leak: freed cluster refcount 1" $f 3
  cp "$b" $f; l2_at $f 0; rc_at $f $host; wr $f $at 2 2
  judge "$n live data cluster refcount 2" $f 2
  cp "$b" $f; l2_at $f 0; rc_at $f $host; wr $f $at 2 0
  judge "$n data cluster refcount 0" $f 2
  cp "$b" $f; l1_at $f 0; rc_at $f $l2; wr $f $at 2 0; judge "$n L2 table refcount 0" $f 2
  cp "$b" $f; rc_at $f $l1_off; wr $f $at 2 0; judge "$n L1 table refcount 0" $f 2
  cp "$b" $f; l2_at $f $((2 * cs)); wr $f $at 8 $((COPIED | l1_off))
  judge "$n L2 entry points at the L1 table" $f 2
  cp "$b" $f; l2_at $f $((2 * cs)); wr $f $at 8 $((COPIED | rt_off))
  judge "$n L2 entry points at the refcount table" $f 2
  cp "$b" $f; l1_at $f 0; wr $f $at 8 $((COPIED | (l2 + cs / 2)))
  judge "$n misaligned L2 offset in L1 (+$((cs / 2)))" $f 2
  cp "$b" $f; l2_at $f 0; wr $f $at 8 $((COPIED | (host + cs / 2)))
  judge "$n misaligned data offset in L2 (+$((cs / 2)))" $f 2
  cp "$b" $f; l2_at $f 0; local e0=$v; l2_at $f $((2 * cs)); wr $f $at 8 $e0
  judge "$n two guest clusters share one host cluster" $f 2
  cp "$b" $f; l2_at $f 0; wr $f $at 8 $((v & ~COPIED)); judge "$n OFLAG_COPIED cleared in L2" $f 2
  cp "$b" $f; l1_at $f 0; wr $f $at 8 $((v & ~COPIED)); judge "$n OFLAG_COPIED cleared in L1" $f 2
  cp "$b" $f; eof=$(stat -c %s $f); l2_at $f 0
  wr $f $at 8 $((COPIED | (((eof + cs - 1) / cs + 64) * cs)))
  judge "$n data cluster past the end of the file" $f 2
  cp "$b" $f; wr $f $rt_off 8 0; judge "$n refcount table entry 0 zeroed" $f 2
  # QEMU validates snapshots_offset even when nb_snapshots is 0 and refuses
  # to open the image (qcow2_validate_table): the check cannot complete.
  cp "$b" $f; rd $f 64 8; wr $f 64 8 $((v + cs / 2))
  judge "$n snapshots_offset misaligned, nb_snapshots 0" $f 1
}

# One seeded one-bit flip in the metadata of a copy of $1.
flip_one() {
  local b=$1 f=flip.qcow2 start span what at bit
  hdr "$b"
  rnd 5
  case $r in
    0) start=0; span=$((version >= 3 ? 104 : 72)); what=header ;;
    1) start=$l1_off; span=$((8 * l1_size)); what=L1 ;;
    2) l1_at "$b" 0; start=$l2; span=$cs; what=L2 ;;
    3) start=$rt_off; span=32; what="refcount table" ;;
    4) # a block, within the entries of clusters the file holds
      rnd 4; rd "$b" $((rt_off + 8 * r)) 8
      if ((v == 0)); then rd "$b" $rt_off 8; fi
      start=$v; span=$((2 * ($(stat -c %s "$b") / cs + 2)))
      span=$((span < cs ? span : cs)); what="refcount block" ;;
  esac
  rnd $span; at=$((start + r)); rnd 8; bit=$r
  cp "$b" $f; rd $f $at 1; wr $f $at 1 $((v ^ (1 << bit)))
  judge "flip ($b, $what): bit $bit of byte $at" $f
}

base b64k3.qcow2 65536 1.1
base b512v2.qcow2 512 0.10
base b512v3.qcow2 512 1.1
base b64k2.qcow2 65536 0.10
targeted b64k3.qcow2 "64k v3:"
targeted b512v2.qcow2 "512 v2:"
bases=(b64k3.qcow2 b512v2.qcow2 b512v3.qcow2 b64k2.qcow2)
for ((i = 0; i < FLIPS; i++)); do
  rnd ${#bases[@]}; flip_one "${bases[r]}"
done
if ((${#disagree[@]})); then
  printf '%s\n' "${#disagree[@]} disagreement(s) between qemu-img check and cowpoke img check:" "${disagree[@]}" >&2
  exit 1
fi
echo "qemu-img check and cowpoke img check agree on all $judged images ($FLIPS with a flipped bit)"
