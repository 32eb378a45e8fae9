# expect: ok
# Power loss keeps what was flushed; writes after the flush may or may not
# survive, sector by sector (flush_no_host_flush loses flushed data).
image create size=8M cluster_size=64k
write -P 0x11 0 256k
flush
write -P 0x22 0 64k
write 1M 128k
crash
read -P 0x11 64k 192k
read 0 64k
read 1M 128k
write -P 0x33 2M 64k
flush
crash drop=random 3
read -P 0x33 2M 64k
check
