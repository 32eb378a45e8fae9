# expect: data-mismatch
# Mutant backing_tail_garbage: a read from the backing file that reaches
# past its end leaves the rest of the buffer as it was. The write at 1k
# copies the rest of cluster 0 from base through a COW buffer, which keeps
# base's 0x11 bytes when it goes back to the engine's pool. The write at
# 99k copies 64k..99k from base, then reads 100k..128k, past base's end,
# into that reused buffer: with the mutant it still holds 0x11 there, and
# 100k..128k must read zeroes.
mutant backing_tail_garbage
image create name=base size=100k cluster_size=64k
write -P 0x11 0 100k
image create size=1M backing=base
write -P 0x22 1k 1k
write -P 0x22 99k 1k
read -P 0x11 64k 35k
read -P 0x22 99k 1k
read -P 0x00 100k 28k
check
