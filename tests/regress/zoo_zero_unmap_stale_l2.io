# expect: data-mismatch
# Mutant zero_unmap_stale_l2 (QEMU 5.2-rc3, fixed by c8bf9a9169, 2020):
# four discards after a flush leave four dirty refcount blocks in the
# cache (which holds four) that depend on the L2 cache. Write-zeroes with
# unmap at 100k marks its L2 slice dirty, then frees the old cluster: the
# free loads a fifth refcount block, evicting a dirty one, whose
# dependency flushes the L2 cache and leaves the slice clean; only then
# does the entry change. After the reopen 100k reads its old data.
mutant zero_unmap_stale_l2
image create size=4M cluster_size=512
write -P 0x11 0 1M
flush
discard 256k 512
discard 512k 512
discard 768k 512
discard 1023k 512
write -z -u 100k 512
read -P 0x00 100k 512
reopen
read -P 0x00 100k 512
check
