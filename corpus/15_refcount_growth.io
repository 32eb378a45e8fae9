# expect: ok
# 512-byte clusters with 16-bit refcounts: one refcount block covers 128k
# of host file, so megabytes of writes need many refcount blocks.
image create size=16M cluster_size=512
write -P 0x11 0 1M
write -P 0x12 1M 1M
write 8M 1M
read -P 0x11 0 1M
read -P 0x12 1M 1M
read 8M 1M
reopen
read -P 0x11 512k 512k
check
