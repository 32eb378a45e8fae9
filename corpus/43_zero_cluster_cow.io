# expect: ok
# A partial write into a zero-flagged cluster of an overlay copies zeroes,
# not the backing file's data (zero_cluster_cow_backing).
image create name=base size=1M cluster_size=64k
write -P 0x11 0 1M
image create size=1M backing=base
write -z 0 64k
write -P 0x22 4k 4k
discard 128k 64k
write -P 0x23 130k 2k
read -P 0x00 0 4k
read -P 0x22 4k 4k
read -P 0x00 8k 56k
read -P 0x00 128k 2k
read -P 0x23 130k 2k
read -P 0x00 132k 60k
read -P 0x11 64k 64k
check
