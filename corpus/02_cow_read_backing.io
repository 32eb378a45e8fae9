# expect: ok
# Copy-on-write from a backing file, the write held at its COW read while
# a read of another cluster runs.
image create name=base size=2M cluster_size=64k
write -P 0x11 0 128k
image create size=2M backing=base
break cow_read A
aio_write -P 0x22 32k 8k
wait_break A
read -P 0x11 64k 64k
resume A
aio_flush
read -P 0x11 0 32k
read -P 0x22 32k 8k
read -P 0x11 40k 88k
check
