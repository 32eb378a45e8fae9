# expect: ok
# A trace whose only flushes are the end-of-trace close's: its crash points
# (`cowpoke replay --crash-points`) all fall inside that close, where the
# L2 table and refcount block of the first write reach the disk. With the
# mutant refcount_after_l2 one of them finds corruption
# (tests/unit/test_crashpoints.c).
image create size=1M cluster_size=4k
write -P 0x11 0 4k
write -P 0x22 512k 8k
image create name=second size=1M cluster_size=4k
write -P 0x33 4k 4k
