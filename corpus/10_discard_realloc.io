# expect: ok
# Discarded clusters read zeroes, partial ones keep their data, and the
# freed host clusters are handed out again.
image create size=1M cluster_size=64k
write -P 0x11 0 256k
discard 32k 160k
read -P 0x11 0 64k
read -P 0x00 64k 128k
read -P 0x11 192k 64k
write -P 0x22 512k 128k
read -P 0x22 512k 128k
read -P 0x11 0 64k
read -P 0x00 64k 128k
check
