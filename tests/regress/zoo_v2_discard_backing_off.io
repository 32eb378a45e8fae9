# expect: ok
# Twin of zoo_v2_discard_backing.io, the same commands without
# `mutant v2_discard_backing`: a correct engine passes.
image create name=base size=1M cluster_size=64k version=2
write -P 0x11 0 1M
image create size=1M backing=base version=2
write -P 0x22 0 256k
discard 0 256k
read -P 0x22 0 256k
check
