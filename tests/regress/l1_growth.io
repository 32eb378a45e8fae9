# expect: ok
# Small clusters: an L2 table maps 32k, so growing the image from 64k to
# 64M needs a larger L1 table (truncate grows it, as QEMU's truncate does:
# held here at l1_grow_alloc_table is the truncate itself), and writes far
# out then use it.
image create size=64k cluster_size=512
write -P 0x11 0 64k
truncate 64M
write -P 0x22 60M 4k
write 48M 1k
read -P 0x11 0 64k
read -P 0x00 64k 4k
read -P 0x22 60M 4k
read 48M 1k
reopen
read -P 0x22 60M 4k
truncate 128M
write -P 0x33 127M 512
read -P 0x33 127M 512
check
