# expect: ok
# Narrow and wide refcounts with 512-byte clusters.
image create size=4M cluster_size=512 refcount_bits=1
write -P 0x11 0 256k
discard 64k 64k
write -P 0x12 64k 4k
read -P 0x11 0 64k
read -P 0x12 64k 4k
check
image create size=4M cluster_size=512 refcount_bits=64
write -P 0x21 0 256k
read -P 0x21 0 256k
reopen
read -P 0x21 128k 128k
check
