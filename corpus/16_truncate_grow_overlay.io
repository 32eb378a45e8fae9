# expect: ok
# Growing an overlay shorter than its backing file: the new area reads
# zeroes, not the backing file's data (truncate_backing_visible).
image create name=base size=2M cluster_size=64k
write -P 0x11 0 1M
write -P 0x12 1M 1M
image create size=1M backing=base
read -P 0x11 0 1M
truncate 2M
read -P 0x11 0 1M
read -P 0x00 1M 1M
write -P 0x22 1536k 4k
read -P 0x22 1536k 4k
check
