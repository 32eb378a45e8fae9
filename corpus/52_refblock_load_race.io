# expect: ok
# After a reopen the refcount cache is empty: an allocating write is held
# where it loads a refcount block while other writes allocate and free
# (refcount_read_unpinned).
image create size=2M cluster_size=512
write -P 0x11 0 1M
reopen
discard 300k 512
discard 450k 512
discard 600k 512
reopen
break refblock_load A
aio_write -P 0x22 1600k 512
wait_break A
aio_write -P 0x23 300k 512
aio_write -P 0x24 450k 512
resume A
aio_flush
read -P 0x22 1600k 512
read -P 0x23 300k 512
read -P 0x24 450k 512
check
