# expect: data-mismatch
# Mutant backing_tail_garbage: a read from the backing file that reaches
# past its end leaves the rest of the buffer as it was. The write at 99k
# copies the rest of its cluster on write: 64k..99k from base through the
# COW buffer, then 100k..128k, past base's end, into the same buffer,
# which still holds base's bytes. 100k..128k must read zeroes.
mutant backing_tail_garbage
image create name=base size=100k cluster_size=64k
write -P 0x11 0 100k
image create size=1M backing=base
write -P 0x22 99k 1k
read -P 0x11 64k 35k
read -P 0x22 99k 1k
read -P 0x00 100k 28k
check
