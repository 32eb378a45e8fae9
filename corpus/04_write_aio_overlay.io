# expect: ok
# A write held right before its data write (write_aio); a read of the same
# bytes meanwhile may see the old or the new data.
image create name=base size=1M cluster_size=64k
write -P 0x11 0 1M
image create size=1M backing=base
break write_aio A
aio_write -P 0x44 4k 4k
wait_break A
read 4k 4k
read -P 0x11 64k 4k
resume A
aio_flush
read -P 0x11 0 4k
read -P 0x44 4k 4k
read -P 0x11 8k 56k
check
