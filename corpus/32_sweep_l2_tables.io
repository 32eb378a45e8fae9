# expect: ok
# 4k clusters: an L2 table maps 2M, so writes every 2M touch every L2
# table of a 16M disk (l2_evict_dirty with a small cache); reopen and read.
image create size=16M cluster_size=4k
write -P 0x01 0 512
write -P 0x02 2M 512
write -P 0x03 4M 512
write -P 0x04 6M 512
write -P 0x05 8M 512
write -P 0x06 10M 512
write -P 0x07 12M 512
write -P 0x08 14M 512
reopen
read -P 0x01 0 512
read -P 0x02 2M 512
read -P 0x03 4M 512
read -P 0x04 6M 512
read -P 0x05 8M 512
read -P 0x06 10M 512
read -P 0x07 12M 512
read -P 0x08 14M 512
check
