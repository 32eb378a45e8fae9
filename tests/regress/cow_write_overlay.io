# expect: ok
# The partial-cluster write to an overlay held at its COW write: the new
# cluster is not linked yet, so reads of that cluster still see the base.
image create name=base size=1M cluster_size=64k
write -P 0x11 0 1M
image create size=1M backing=base
break cow_write A
aio_write -P 0x22 100k 4k
wait_break A
read -P 0x11 64k 64k
read -P 0x11 0 64k
resume A
aio_flush
read -P 0x11 64k 36k
read -P 0x22 100k 4k
read -P 0x11 104k 24k
check
