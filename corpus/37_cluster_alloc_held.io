# expect: ok
# A write held at its cluster allocation, with racing writes elsewhere.
image create size=4M cluster_size=64k
write -P 0x11 0 64k
break cluster_alloc C
aio_write -P 0x22 1M 64k
wait_break C
aio_write -P 0x23 2M 8k
aio_write -P 0x24 0 4k
resume C
aio_flush
read -P 0x22 1M 64k
read -P 0x23 2M 8k
read -P 0x24 0 4k
read -P 0x11 4k 60k
check
