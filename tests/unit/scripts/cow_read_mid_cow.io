# expect: ok
# The example of the language draft: a read in another cluster while a
# partial-cluster write to an overlay is suspended in its copy-on-write.
image create name=base size=2M cluster_size=64k
write -P 0x11 0 128k
image create size=2M backing=base  # overlay: its clusters start unallocated
break cow_read A
aio_write -P 0x22 32k 8k           # partial cluster: copy-on-write from base
wait_break A
read -P 0x11 64k 64k               # a read in another cluster, mid-COW
resume A
aio_flush
read -P 0x11 0 32k
read -P 0x22 32k 8k
read -P 0x11 40k 88k
check
