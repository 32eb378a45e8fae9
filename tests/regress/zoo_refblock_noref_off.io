# expect: ok
# Twin of zoo_refblock_noref.io, the same commands without
# `mutant refblock_noref`: a correct engine passes.
image create size=1M cluster_size=512
write -P 0x11 0 120k
flush
write -P 0x22 120k 8k
crash
check
write -P 0x33 512k 8k
read -P 0x11 0 120k
read -P 0x33 512k 8k
