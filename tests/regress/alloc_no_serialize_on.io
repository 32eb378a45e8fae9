# expect: data-mismatch
# Mutant alloc_no_serialize (QEMU before f214978a427e, 2009): two writes
# in flight into one unallocated cluster each allocate a host cluster; the
# later L2 update drops the other write's data.
mutant alloc_no_serialize
image create size=256k cluster_size=64k
write -P 0x01 192k 512
aio_write -P 0x07 64k 4k
aio_write -P 0x08 72k 4k
aio_flush
read -P 0x07 64k 4k
read -P 0x08 72k 4k
