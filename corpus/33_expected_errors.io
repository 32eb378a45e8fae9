# expect: ok
# Requests past the end of the disk fail with EINVAL; truncate refuses to
# shrink (ENOTSUP) and sizes that are not sector multiples (EINVAL).
image create size=1M
expect_error EINVAL
write -P 0x11 1020k 8k
expect_error EINVAL
aio_read 1M 512
aio_flush
expect_error EINVAL
discard 2M 4k
expect_error ENOTSUP
truncate 512k
expect_error EINVAL
truncate 1000000
write -P 0x11 1020k 4k
read -P 0x11 1020k 4k
check
