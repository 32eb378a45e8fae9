# expect: data-mismatch
# crash point 14 of 18 (drop=all) of tests/regress/fault_eio_l2_update.io:
# the power goes right after its host write or flush 14, during line 8;
# then every cluster the trace wrote is read back and checked.
# Found by cowpoke replay --crash-points; the verdict:
# data-mismatch: read: data mismatch at offset 0x0: the bytes read are none of the 1 legal values

mutant flush_no_host_flush
image create size=8M cluster_size=64k
write -P 0x01 0 64k
flush
crash after=1
write -P 0x02 2M 64k
read 0 64k
read 2M 64k
check
