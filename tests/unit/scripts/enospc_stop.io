# expect: ok
# A full host disk under werror=stop: the write is suspended, not failed,
# and completes once the disk grows and the error is resumed.
image create size=16M cluster_size=64k
host limit 1M
policy werror=stop
aio_write -P 0x5a 0 4M
host grow 64M
resume_errors
aio_flush
read -P 0x5a 0 4M
check
