# expect: ok
# Found by a fuzz campaign on the correct engine: an unaligned write into
# a zero cluster that still has its host cluster is written in place, and
# the engine used to write the guest's 434 bytes and the 78-byte COW tail
# as two host writes. A read held at read_aio landed between them and saw
# one 512-byte sector half new, half stale. As QEMU since 2.10 ("merge the
# writing of the COW regions with the guest data"), COW head, guest data
# and COW tail now reach the host in one write, so the sector is either
# all old or all new.
image create name=base size=512 cluster_size=512
write -P 0x01 0 512
break read_aio A
aio_read 0 512
wait_break A
write -z 0 512
aio_write -P 0x02 0 434
resume A
aio_flush
read -P 0x02 0 434
read -P 0 434 78
check
