# expect: ok
# Refcount growth across a crash: the second batch of writes needs a new
# refcount block and may be lost (refblock_noref).
image create size=1M cluster_size=512
write -P 0x11 0 120k
flush
write -P 0x22 120k 8k
crash
check
write -P 0x33 512k 8k
read -P 0x11 0 120k
read -P 0x33 512k 8k
