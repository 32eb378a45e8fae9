# expect: ok
# Twin of zoo_refcount_after_l2.io, the same commands without
# `mutant refcount_after_l2`: a correct engine passes.
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
