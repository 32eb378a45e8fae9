# expect: ok
# The power goes in the middle of a large allocating write that crosses
# into a second L2 table (after the fifth of its host writes: data, the
# new table, refcounts, the L1 entry), with a seeded half of the unflushed
# sectors kept: the write is torn at 512-byte sectors, the data flushed
# before survives whole, and the metadata is consistent after the reopen
# (leaks allowed).
image create size=8M cluster_size=4k
write -P 0x11 0 256k
flush
crash after=5 drop=random 11
write -P 0x22 1536k 1M
read -P 0x11 0 128k
read 1536k 1M
check
write -P 0x33 1536k 1M
read -P 0x33 1536k 1M
check
