# expect: ok
# Power loss while writes are in flight (one held at its COW, one in the
# middle of allocating), keeping unflushed writes at random.
image create name=base size=4M cluster_size=64k
write -P 0x11 0 1M
image create size=4M backing=base
write -P 0x22 0 128k
flush
break cow_write A
aio_write -P 0x33 200k 8k
wait_break A
aio_write 1M 300k
crash drop=random 5
read 0 1M
write -P 0x44 200k 8k
read -P 0x44 200k 8k
check
