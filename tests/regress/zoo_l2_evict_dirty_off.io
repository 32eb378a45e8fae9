# expect: ok
# Twin of zoo_l2_evict_dirty.io, the same commands without
# `mutant l2_evict_dirty`: a correct engine passes.
image create size=1M cluster_size=512
write -P 0x11 0 1M
read -P 0x11 0 1M
check
