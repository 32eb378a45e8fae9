# expect: metadata-corrupt
# Mutant refblock_noref (QEMU before commit 92dcb59f, 2010): a new
# refcount block is hooked into the refcount table (a synced write) but
# counted only afterwards, in the cache. The second write needs a second
# refcount block (512-byte clusters: one block counts 128k of host file);
# the power fails before the count reaches the disk, so after the reopen
# a live refcount block has refcount 0.
mutant refblock_noref
image create size=1M cluster_size=512
write -P 0x11 0 120k
flush
write -P 0x22 120k 8k
crash
check
write -P 0x33 512k 8k
read -P 0x11 0 120k
read -P 0x33 512k 8k
