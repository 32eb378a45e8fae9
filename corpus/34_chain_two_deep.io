# expect: ok
# base -> mid -> top: reads fall through two backing files; partial
# writes copy from the nearest one that has the data.
image create name=base size=1M cluster_size=64k
write -P 0x11 0 1M
image create name=mid size=1M cluster_size=64k backing=base
write -P 0x22 64k 64k
write -P 0x23 200k 8k
image create size=2M cluster_size=64k backing=mid
read -P 0x11 0 64k
read -P 0x22 64k 64k
read -P 0x23 200k 8k
write -P 0x33 70k 2k
write -P 0x34 130k 2k
read -P 0x22 64k 6k
read -P 0x33 70k 2k
read -P 0x22 72k 56k
read -P 0x11 128k 2k
read -P 0x34 130k 2k
read -P 0x00 1M 1M
check
