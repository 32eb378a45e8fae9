# expect: ok
# ENOSPC while allocating a data cluster: the L2 table of the area exists
# already, so the first host write past the limit is the new cluster's data
# (write_aio). The write fails, its cluster is given back, earlier data
# reads back, the image checks clean (leaks allowed), and once the host
# disk grows the same write succeeds.
image create size=16M cluster_size=512
write -P 0x11 0 4k
flush
host limit 10240
expect_error ENOSPC
write -P 0x22 4k 512
read -P 0x11 0 4k
read 4k 512
check
host grow 1M
write -P 0x33 4k 512
read -P 0x11 0 4k
read -P 0x33 4k 512
reopen
read -P 0x11 0 4k
read -P 0x33 4k 512
check
