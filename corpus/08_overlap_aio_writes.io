# expect: ok
# Overlapping writes in flight together over allocated clusters (written in
# place, not serialized): each sector may hold either; reads must agree
# with one outcome per sector and keep it, across a reopen too.
image create size=1M cluster_size=64k
write -P 0x01 0 192k
break write_aio A
aio_write 0 96k
wait_break A
aio_write 32k 96k
aio_write 60k 10k
aio_read 0 128k
resume A
aio_flush
read 0 128k
read 0 128k
reopen
read 0 128k
read -P 0x01 128k 64k
check
