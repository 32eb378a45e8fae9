# expect: ok
# Twin of zoo_early_completion.io, the same commands without
# `mutant early_completion`: a correct engine passes.
image create size=1M cluster_size=64k
write -P 0x11 0 64k
write -P 0x22 64k 64k
read -P 0x11 0 4k
break read_aio A
aio_read -P 0x22 64k 4k
wait_break A
aio_read -P 0x11 0 4k
resume A
aio_flush
read -P 0x22 64k 4k
check
