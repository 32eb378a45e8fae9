# expect: ok
# qemu-io's flags: -q, -v, -f, and a pattern check on part of a read
# (-s, -l).
image create size=1M cluster_size=64k
write -P 0x11 -q 0 8k
write -P 0x22 -f 8k 4k
read -P 0x11 -s 1k -l 2k -q 0 8k
read -P 0x22 -s 0 -l 4k 8k 8k
read -v 12k 32
aio_read -q -v 0 64
aio_flush
discard -q 64k 64k
check
