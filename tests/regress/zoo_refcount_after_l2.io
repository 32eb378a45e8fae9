# expect: data-mismatch
# Mutant refcount_after_l2: linking a new cluster does not make the L2
# cache depend on the refcount cache, so the guest flush writes the L2
# table first. The flush is held right before the refcount block's write,
# the power fails, and the seeded coin keeps the L2 sector: after the
# reopen the entry for 4k points at a cluster with refcount 0, the next
# allocation (for 8k) takes that cluster, and 4k reads 8k's data.
mutant refcount_after_l2
image create size=1M cluster_size=512
write -P 0x11 0 512
flush
break refblock_update_part A
aio_write -P 0x22 -f 4k 512
wait_break A
crash drop=random 1
write -P 0x33 8k 512
read 4k 512
read -P 0x33 8k 512
check
