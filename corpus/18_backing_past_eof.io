# expect: ok
# An overlay larger than its backing file: reads across the backing file's
# end give the data, then zeroes; a COW across it too (backing_tail_garbage).
image create name=base size=100k cluster_size=64k
write -P 0x11 0 100k
image create size=1M backing=base
read -P 0x11 0 100k
read -P 0x00 100k 156k
write -P 0x22 96k 1k
read -P 0x11 64k 32k
read -P 0x22 96k 1k
read -P 0x11 97k 3k
read -P 0x00 100k 28k
check
