# expect: ok
# A write held at the L1 update of its new L2 table (4k clusters), while
# other requests queue behind the metadata lock.
image create size=8M cluster_size=4k
write -P 0x11 0 8k
break l1_update U
aio_write -P 0x22 6M 4k
wait_break U
aio_write -P 0x23 16k 4k
aio_read 0 8k
resume U
aio_flush
read -P 0x22 6M 4k
read -P 0x23 16k 4k
read -P 0x11 0 8k
check
