# expect: data-mismatch
# Mutant truncate_backing_visible (QEMU before the fix of April 2020):
# growing an overlay shorter than its backing file leaves the new area
# unallocated, so the backing file's data shows where zeroes belong.
mutant truncate_backing_visible
image create name=base size=2M cluster_size=64k
write -P 0x11 0 2M
image create size=1M backing=base
read -P 0x11 0 1M
truncate 2M
read -P 0x11 0 1M
read -P 0x00 1M 1M
check
