# expect: data-mismatch
# Mutant discard_inflight (QEMU until the 2021 series "qcow2: fix parallel
# rewrite and discard"): a rewrite of cluster 0 is held at its data write;
# a discard frees the host cluster under it; an allocating write takes
# that host cluster for 128k; then the late rewrite lands in it. The
# metadata is consistent: only the data of 128k shows the damage.
mutant discard_inflight
image create size=1M cluster_size=64k
write -P 0x11 0 64k
break write_aio A
aio_write -P 0x22 0 64k
wait_break A
discard 0 64k
write -P 0x33 128k 64k
resume A
aio_flush
read -P 0x33 128k 64k
read 0 64k
check
