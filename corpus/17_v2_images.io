# expect: ok
# Version 2 images have no zero flag: discard on a v2 overlay changes
# nothing (v2_discard_backing), on a v2 image without backing it reads
# zeroes; write-zeroes writes zero buffers.
image create name=base size=1M cluster_size=64k version=2
write -P 0x11 0 1M
image create size=1M backing=base version=2
write -P 0x22 0 256k
discard 0 256k
read -P 0x22 0 256k
read -P 0x11 256k 64k
write -z 300k 100k
read -P 0x00 300k 100k
image create size=1M version=2
write -P 0x33 0 256k
discard 64k 128k
read -P 0x33 0 64k
read -P 0x00 64k 128k
read -P 0x33 192k 64k
check
