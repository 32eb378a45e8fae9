# expect: ok
# werror=stop: the write that fills the host disk is parked instead of
# failed, then retried whole once the disk grew; the data is all there.
image create size=16M cluster_size=64k
write -P 0x11 0 64k
host limit 512k
policy werror=stop
aio_write -P 0x5a 1M 2M
read -P 0x11 0 64k
host grow 64M
resume_errors
aio_flush
read -P 0x5a 1M 2M
check
