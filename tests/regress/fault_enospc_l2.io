# expect: ok
# ENOSPC while allocating an L2 table: with 512-byte clusters one L2 table
# maps 32k, so a write at 64k needs a new one, and writing it
# (l2_alloc_write) is the first host write past the limit. Nothing of the
# failed write may show, the L1 table must not point at the lost table,
# and the image must check clean before and after a reopen.
image create size=16M cluster_size=512
write -P 0x11 0 4k
flush
host limit 10240
expect_error ENOSPC
write -P 0x22 64k 512
read -P 0x11 0 4k
read 64k 512
check
reopen
read -P 0x11 0 4k
read -P 0x00 64k 512
check
host grow 1M
write -P 0x33 64k 512
read -P 0x33 64k 512
reopen
read -P 0x33 64k 512
check
