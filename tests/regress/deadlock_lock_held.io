# expect: deadlock
# A synchronous read waits for the metadata lock that a write suspended
# at l2_update holds: qemu-io would hang here; cowpoke names both requests.
image create name=base size=1M cluster_size=64k
write -P 0x11 0 1M
image create size=1M backing=base
break l2_update A
aio_write -P 0x33 64k 16k
wait_break A
read -P 0x11 512k 64k
