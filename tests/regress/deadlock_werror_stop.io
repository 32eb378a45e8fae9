# expect: deadlock
# werror=stop parks the write that hits the full host disk; without
# resume_errors nothing can ever finish it.
image create size=16M cluster_size=64k
host limit 1M
policy werror=stop
aio_write -P 0x5a 0 4M
aio_flush
