# expect: ok
# Twin of zoo_enospc_publish_l2.io, the same commands without
# `mutant enospc_publish_l2`: a correct engine passes.
image create size=1G cluster_size=64k
write -P 0x11 0 64k
host limit 448k
expect_error ENOSPC
write -P 0x22 512M 64k
host grow 1M
reopen
write -P 0x33 64k 64k
read -P 0x33 64k 64k
check
read 512M 64k
