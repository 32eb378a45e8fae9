# expect: ok
# write -z -u held where it frees a data cluster, while writes go on
# elsewhere and a read of the cluster races it.
image create size=2M cluster_size=64k
write -P 0x11 0 256k
break cluster_free F
aio_write -z -u 64k 64k
wait_break F
aio_write -P 0x22 512k 64k
aio_read 64k 64k
resume F
aio_flush
read -P 0x00 64k 64k
read -P 0x22 512k 64k
read -P 0x11 0 64k
check
