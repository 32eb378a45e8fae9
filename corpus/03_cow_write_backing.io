# expect: ok
# The partial write into an overlay held at its COW write; reads of other
# clusters meanwhile, then every byte checked.
image create name=base size=1M cluster_size=64k
write -P 0x11 0 1M
image create size=1M backing=base
break cow_write A
aio_write -P 0x22 100k 4k
wait_break A
read -P 0x11 0 64k
read -P 0x11 128k 64k
resume A
aio_flush
read -P 0x11 64k 36k
read -P 0x22 100k 4k
read -P 0x11 104k 24k
check
