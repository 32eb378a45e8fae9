# expect: deadlock
# A request still suspended at a breakpoint when the script ends: the
# final drain can never finish.
image create name=base size=1M cluster_size=64k
write -P 0x11 0 64k
image create size=1M backing=base
break cow_read A
aio_write -P 0x22 4k 4k
wait_break A
read -P 0x00 128k 4k
