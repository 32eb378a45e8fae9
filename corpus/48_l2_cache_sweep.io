# expect: ok
# More L2 tables than a small cache holds (512-byte clusters: a table maps
# 32k): write one sector in each, read them all back (l2_evict_dirty).
image create size=1M cluster_size=512
write -P 0x11 0 1M
read -P 0x11 0 1M
write -P 0x21 0 512
write -P 0x22 32k 512
write -P 0x23 64k 512
write -P 0x24 96k 512
write -P 0x25 128k 512
write -P 0x26 160k 512
write -P 0x27 192k 512
write -P 0x28 224k 512
reopen
read -P 0x21 0 512
read -P 0x22 32k 512
read -P 0x28 224k 512
read -P 0x11 512 31k
check
