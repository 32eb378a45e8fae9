# expect: ok
# ENOSPC while growing the refcount table: with 512-byte clusters and
# 64-bit refcounts the first refcount table (64 entries of 32k each) covers
# 2M of host file. Past 1960k of data the next refcount block needs a
# bigger table, and writing the new blocks and table
# (refblock_alloc_write_blocks) runs into the limit. The old table stays in
# use; nothing points at the half-written new one.
image create size=16M cluster_size=512 refcount_bits=64
write -P 0x11 0 1960k
host limit 2085888
expect_error ENOSPC
write -P 0x22 1960k 64k
read -P 0x11 0 1960k
read 1960k 64k
check
reopen
read -P 0x11 1M 936k
check
host grow 4M
write -P 0x33 1960k 64k
read -P 0x33 1960k 64k
reopen
read -P 0x33 1960k 64k
read -P 0x11 0 64k
check
