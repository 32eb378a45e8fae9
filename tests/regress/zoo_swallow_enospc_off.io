# expect: ok
# Twin of zoo_swallow_enospc.io, the same commands without
# `mutant swallow_enospc`: a correct engine passes.
image create size=16M cluster_size=64k
write -P 0x11 0 64k
host limit 384k
policy werror=stop
aio_write -P 0x22 64k 64k
read -P 0x11 0 64k
host grow 1M
resume_errors
aio_flush
read -P 0x22 64k 64k
check
