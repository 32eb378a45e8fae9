# expect: ok
# Twin of zoo_zero_cluster_cow_backing.io, the same commands without
# `mutant zero_cluster_cow_backing`: a correct engine passes.
image create name=base size=1M cluster_size=64k
write -P 0x11 0 1M
image create size=1M backing=base
write -z 0 64k
write -P 0x22 4k 4k
read -P 0x00 0 4k
read -P 0x22 4k 4k
read -P 0x00 8k 56k
check
