# expect: unexpected-error
# expect_error in front of a command that succeeds.
image create size=1M
expect_error EIO
write -P 0x11 0 4k
