# expect: ok
# Power loss keeps what was flushed; a write after the flush may or may
# not survive, sector by sector, and the image still checks clean.
image create size=8M cluster_size=64k
write -P 0x11 0 256k
flush
write -P 0x22 0 64k
write 1M 128k
crash
read -P 0x11 64k 192k
read 0 64k
read 1M 128k
check
