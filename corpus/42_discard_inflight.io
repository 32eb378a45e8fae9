# expect: ok
# A rewrite held before its data write, a discard of the same cluster, an
# allocating write elsewhere, then the rewrite lands (discard_inflight).
image create size=1M cluster_size=64k
write -P 0x11 0 64k
break write_aio A
aio_write -P 0x22 0 64k
wait_break A
discard 0 64k
write -P 0x33 128k 64k
resume A
aio_flush
read -P 0x33 128k 64k
read 0 64k
check
