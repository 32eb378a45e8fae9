# expect: metadata-corrupt
# crash point 13 of 18 (drop=all) of tests/regress/discard_realloc.io:
# the power goes right after its host write or flush 13, during line 10;
# then every cluster the trace wrote is read back and checked.
# Found by cowpoke replay --crash-points; the verdict:
# metadata-corrupt: image #1: the metadata checker found 4 corruptions

mutant refcount_after_l2
image create size=1M cluster_size=64k
write -P 0x11 0 256k
discard 32k 160k
read -P 0x11 0 64k
read -P 0x00 64k 128k
read -P 0x11 192k 64k
crash after=3
write -P 0x22 512k 128k
read 0 256k
read 512k 128k
check
