# expect: ok
# write -z -u with many refcount blocks in play (512-byte clusters), then
# reopen and reallocation (zero_unmap_stale_l2).
image create size=4M cluster_size=512
write -P 0x11 0 1M
flush
discard 256k 512
discard 512k 512
discard 768k 512
discard 1023k 512
write -z -u 100k 512
read -P 0x00 100k 512
reopen
read -P 0x00 100k 512
write -P 0x22 2M 64k
read -P 0x00 100k 512
read -P 0x22 2M 64k
check
