# expect: ok
# Twin of zoo_flush_no_host_flush.io, the same commands without
# `mutant flush_no_host_flush`: a correct engine passes.
image create size=1M cluster_size=64k
write -P 0x11 0 64k
flush
write -P 0x22 0 64k
flush
crash
read -P 0x22 0 64k
check
