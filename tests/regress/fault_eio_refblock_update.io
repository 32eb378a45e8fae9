# expect: ok
# EIO on a refcount block write-back at a flush (the engine announces it as
# refblock_update_part, QEMU's event for writing part of a refcount block):
# the flush fails with EIO and nothing that depends on the lost write may
# reach the disk first; the retried flush completes and the image checks
# clean after a reopen.
image create size=8M cluster_size=64k
write -P 0x01 0 64k
flush
write -P 0x02 1M 192k
inject refblock_update_part errno=EIO once
expect_error EIO
flush
read -P 0x02 1M 192k
flush
reopen
read -P 0x01 0 64k
read -P 0x02 1M 192k
check
