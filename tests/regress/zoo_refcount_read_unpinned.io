# expect: metadata-corrupt
# Mutant refcount_read_unpinned (QEMU 4.1.0, fixed in 4.1.1 by 5e97855052,
# LP#1846427, 2019): the preallocation probe that precedes the first block
# status reads refcounts without the metadata lock. A partial write-zeroes
# asks for block status (does the rest of its cluster read as zeroes?);
# its probe is held at its first refcount block load, with a cache slot
# already chosen. An allocating write (into the hole the first discard
# left; the other discards filled the four-entry refcount cache) loads
# its refcount block into that same slot and counts its new cluster
# there; then the probe's load lands in the slot and the count is lost.
mutant refcount_read_unpinned
image create size=2M cluster_size=512
write -P 0x11 0 1M
reopen
write -P 0x33 1600k 512
discard 300k 512
discard 450k 512
discard 600k 512
discard 700k 512
discard 800k 512
break refblock_load A
aio_write -z 1573120 256
wait_break A
aio_write -P 0x22 300k 512
resume A
aio_flush
read -P 0x22 300k 512
check
