# expect: ok
# The host layout avail_sectors needs: a kept cluster, a hole right after
# its host cluster (discard), then a write over kept + new + partial.
image create size=1M cluster_size=64k
write -P 0x10 0 64k
write -P 0x15 320k 64k
write -P 0x16 384k 64k
discard 320k 64k
write -P 0x99 32k 128k
read -P 0x10 0 32k
read -P 0x99 32k 128k
read -P 0x00 160k 32k
read -P 0x16 384k 64k
check
