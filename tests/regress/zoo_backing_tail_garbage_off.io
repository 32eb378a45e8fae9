# expect: ok
# Twin of zoo_backing_tail_garbage.io, the same commands without
# `mutant backing_tail_garbage`: a correct engine passes.
image create name=base size=100k cluster_size=64k
write -P 0x11 0 100k
image create size=1M backing=base
write -P 0x22 1k 1k
write -P 0x22 99k 1k
read -P 0x11 64k 35k
read -P 0x22 99k 1k
read -P 0x00 100k 28k
check
