# expect: ok
# An EIO on a write's data I/O fails that write and only that write.
image create size=8M cluster_size=64k
write -P 0x01 0 128k
inject write_aio errno=EIO once
expect_error EIO
write -P 0x02 4k 4k
read -P 0x01 0 4k
read 4k 4k
read -P 0x01 8k 120k
write -P 0x03 4k 4k
read -P 0x03 4k 4k
check
