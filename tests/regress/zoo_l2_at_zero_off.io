# expect: ok
# Twin of zoo_l2_at_zero.io, the same commands without
# `mutant l2_at_zero`: a correct engine passes.
image create size=1G cluster_size=64k
write -P 0x11 0 64k
inject cluster_alloc errno=EIO once
policy werror=stop
aio_write -P 0x22 512M 64k
read -P 0x11 0 64k
resume_errors
aio_flush
read -P 0x22 512M 64k
check
reopen
read -P 0x11 0 64k
