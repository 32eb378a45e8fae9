# expect: ok
# A host-level fault: every host write touching the file's second megabyte
# fails with EIO. Writes whose clusters land below it succeed; the write
# that needs room there fails, and may or may not have changed its bytes.
image create size=8M cluster_size=64k
inject write errno=EIO off=1M len=1M
write -P 0x01 0 512k
expect_error EIO
write -P 0x02 512k 1M
read -P 0x01 0 512k
read 512k 1M
check
