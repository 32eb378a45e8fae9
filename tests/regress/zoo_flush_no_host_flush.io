# expect: data-mismatch
# Mutant flush_no_host_flush (ocaml-qcow before pull request 23, 2016):
# a guest flush writes the caches but never flushes the host. The second
# write goes in place (data only), the flush completes, the power fails:
# flushed data must survive, yet the host still held it in its volatile
# cache, so it is gone.
mutant flush_no_host_flush
image create size=1M cluster_size=64k
write -P 0x11 0 64k
flush
write -P 0x22 0 64k
flush
crash
read -P 0x22 0 64k
check
