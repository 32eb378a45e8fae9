# expect: ok
# Twin of zoo_discard_inflight.io, the same commands without
# `mutant discard_inflight`: a correct engine passes.
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
