# expect: ok
# A host-level write error on the first host write of a request.
image create size=4M cluster_size=64k
write -P 0x11 0 64k
inject write errno=EIO once
expect_error EIO
write -P 0x22 1M 64k
read -P 0x11 0 64k
read 1M 64k
write -P 0x22 1M 64k
read -P 0x22 1M 64k
check
