# expect: ok
# Twin of zoo_refcount_read_unpinned.io, the same commands without
# `mutant refcount_read_unpinned`: a correct engine passes.
image create size=2M cluster_size=512
write -P 0x11 0 1M
reopen
write -P 0x33 1600k 512
discard 300k 512
discard 450k 512
discard 600k 512
discard 700k 512
discard 800k 512
break refblock_load A
aio_write -z 1573120 256
wait_break A
aio_write -P 0x22 300k 512
resume A
aio_flush
read -P 0x22 300k 512
check
