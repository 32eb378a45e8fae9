# expect: ok
# A version 2 overlay has no zero flag: discard there changes nothing
# (QEMU refuses it, iotest 290); on a v2 image without backing, discarded
# clusters read zeroes.
image create name=base size=1M cluster_size=64k version=2
write -P 0x11 0 1M
image create size=1M backing=base version=2
write -P 0x22 0 256k
discard 0 256k
read -P 0x22 0 256k
image create size=1M version=2
write -P 0x33 0 256k
discard 64k 128k
read -P 0x33 0 64k
read -P 0x00 64k 128k
read -P 0x33 192k 64k
check
