# expect: data-mismatch
# Mutant v2_discard_backing (QEMU before "qcow2: Forbid discard in qcow2
# v2 images with backing files", 2020, iotest 290): a version 2 image has
# no zero flag, so discard deallocates the clusters and the backing
# file's stale data shows through.
mutant v2_discard_backing
image create name=base size=1M cluster_size=64k version=2
write -P 0x11 0 1M
image create size=1M backing=base version=2
write -P 0x22 0 256k
discard 0 256k
read -P 0x22 0 256k
check
