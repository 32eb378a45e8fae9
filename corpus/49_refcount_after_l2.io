# expect: ok
# A durable write held while its refcount block is written back, then power
# loss: after reopen no L2 entry may point at a cluster of refcount 0
# (refcount_after_l2).
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
