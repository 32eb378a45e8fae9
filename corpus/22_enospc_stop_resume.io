# expect: ok
# werror=stop: writes that fill the host disk park instead of failing and
# are retried whole once the disk grows; the data is all there.
image create size=16M cluster_size=64k
write -P 0x11 0 64k
policy werror=stop
host limit 512k
aio_write -P 0x5a 1M 1M
aio_write -P 0x5b 4M 64k
host grow 1T
resume_errors
aio_flush
read -P 0x5a 1M 1M
read -P 0x5b 4M 64k
read -P 0x11 0 64k
policy werror=report
check
