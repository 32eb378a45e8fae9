# expect: ok
# The twin of avail_sectors_on.io with the mutant off (QEMU since b7ab0fea). A discard makes a
# hole after the host cluster of guest cluster 0; a write that keeps
# cluster 0 (from its middle) and allocates 1 and half of 2 counts the
# kept cluster as available in the new allocation, runs past it over the
# host cluster of guest cluster 6, and never maps cluster 2.
image create size=1M cluster_size=64k
write -P 0x10 0 64k
write -P 0x15 320k 64k
write -P 0x16 384k 64k
discard 320k 64k
write -P 0x99 32k 128k
read -P 0x10 0 32k
read 32k 128k
read -P 0x16 384k 64k
check
