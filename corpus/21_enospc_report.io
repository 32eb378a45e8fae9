# expect: ok
# A full host disk under werror=report: every data write fails with
# ENOSPC; earlier data survives; metadata stays consistent (leaks allowed).
image create size=8M cluster_size=64k
write -P 0x11 0 256k
host limit 32k
expect_error ENOSPC
write -P 0x22 2M 1M
expect_error ENOSPC
write -P 0x23 64k 4k
expect_error ENOSPC
aio_write -P 0x24 4M 64k
aio_flush
host limit 0
read -P 0x11 0 64k
read 2M 1M
write -P 0x33 2M 64k
read -P 0x33 2M 64k
check
