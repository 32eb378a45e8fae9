# expect: ok
# An EIO on the first L2 table update reaches the guest write that caused
# it; metadata stays consistent (leaks allowed).
image create size=8M
write -P 0x01 0 64k
inject l2_update errno=EIO once
expect_error EIO
write -P 0x02 1M 64k
read -P 0x01 0 64k
check
