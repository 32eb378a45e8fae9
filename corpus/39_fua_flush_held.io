# expect: ok
# A write with -f (durable when it completes) held at flush_to_disk; a
# crash after it completes keeps its data (the model knows it is durable).
image create size=4M cluster_size=64k
write -P 0x11 0 64k
break flush_to_disk F
aio_write -P 0x22 -f 1M 64k
wait_break F
read -P 0x11 0 64k
resume F
aio_flush
crash
read 1M 64k
read 0 64k
check
