# expect: ok
# 512-byte clusters: an L2 table maps 32k, so growing the image needs a
# larger L1 table; writes far out then use it.
image create size=64k cluster_size=512
write -P 0x11 0 64k
truncate 8M
write -P 0x22 7M 4k
write 5M 1k
read -P 0x11 0 64k
read -P 0x00 64k 4k
read -P 0x22 7M 4k
read 5M 1k
reopen
read -P 0x22 7M 4k
truncate 16M
write -P 0x33 15M 512
read -P 0x33 15M 512
check
