# expect: ok
# The host fills up while a write allocates a new L2 table (werror=stop),
# then the disk grows, the write is retried, and the image is reopened
# (enospc_publish_l2, l2_at_zero).
image create size=16M cluster_size=4k
write -P 0x11 0 64k
policy werror=stop
host limit 100k
aio_write -P 0x22 8M 64k
host limit 0
resume_errors
aio_flush
reopen
write -P 0x33 64k 64k
read -P 0x33 64k 64k
read -P 0x22 8M 64k
read -P 0x11 0 64k
check
