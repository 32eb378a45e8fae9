# expect: data-mismatch
# Mutant early_completion (the class of QEMU launchpad bug 1745312, the
# isapc machine's intermittent IDE read failures): a guest read through
# the engine's bounce buffer completes at the next completion of any of
# its host reads. The read of 0 leaves 0x11 in the bounce buffer; the
# aio_read of 64k takes that buffer and is held at read_aio; a second
# aio_read of 0 submits its host read first; then the held read submits
# its own. The scheduler completes the older host read first, which wakes
# the read of 64k too: it copies the buffer's stale 0x11 and completes
# while its host read is still in flight. Without the breakpoint the
# reads' host I/Os complete in their own order and the first one wakes
# the second (stale zeroes); held this way the guest sees an earlier
# read's bytes.
mutant early_completion
image create size=1M cluster_size=64k
write -P 0x11 0 64k
write -P 0x22 64k 64k
read -P 0x11 0 4k
break read_aio A
aio_read -P 0x22 64k 4k
wait_break A
aio_read -P 0x11 0 4k
resume A
aio_flush
read -P 0x22 64k 4k
check
