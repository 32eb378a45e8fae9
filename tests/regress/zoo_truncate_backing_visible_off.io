# expect: ok
# Twin of zoo_truncate_backing_visible.io, the same commands without
# `mutant truncate_backing_visible`: a correct engine passes.
image create name=base size=2M cluster_size=64k
write -P 0x11 0 2M
image create size=1M backing=base
read -P 0x11 0 1M
truncate 2M
read -P 0x11 0 1M
read -P 0x00 1M 1M
check
