# expect: ok
# A full host disk under the default werror=report: the write fails with
# ENOSPC, earlier data survives, metadata stays consistent (leaks allowed).
image create size=16M cluster_size=64k
write -P 0x11 0 256k
host limit 1M
expect_error ENOSPC
write -P 0x22 2M 2M
read -P 0x11 0 256k
read 2M 2M
host grow 8M
write -P 0x33 2M 64k
read -P 0x33 2M 64k
check
