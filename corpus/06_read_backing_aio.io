# expect: ok
# A read of an overlay held where it reads the backing file; a write into
# the same cluster runs meanwhile.
image create name=base size=1M cluster_size=64k
write -P 0x11 0 256k
image create size=1M backing=base
break read_backing_aio B
aio_read 0 64k
wait_break B
aio_write -P 0x22 8k 4k
aio_write -P 0x23 128k 64k
resume B
aio_flush
read -P 0x11 0 8k
read -P 0x22 8k 4k
read -P 0x23 128k 64k
check
