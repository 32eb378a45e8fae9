# expect: ok
# The same write with its error expected; a read past the end too.
image create size=1M
expect_error EINVAL
write -P 0x11 1020k 8k
expect_error EINVAL
aio_read 1M 512
aio_flush
write -P 0x11 1020k 4k
read -P 0x11 1020k 4k
