# expect: data-mismatch
# Mutant zero_cluster_cow_backing: a partial write into a zero-flagged
# cluster of an overlay copies the backing file's data instead of zeroes
# into the rest of the cluster.
mutant zero_cluster_cow_backing
image create name=base size=1M cluster_size=64k
write -P 0x11 0 1M
image create size=1M backing=base
write -z 0 64k
write -P 0x22 4k 4k
read -P 0x00 0 4k
read -P 0x22 4k 4k
read -P 0x00 8k 56k
check
