# expect: ok
# Writes and reads on a fresh image: patterns, seeded data, partial
# clusters, unaligned bytes; every read is checked by the model.
image create size=4M cluster_size=64k
write -P 0x11 0 64k
write -P 0x22 96k 8k
write 200k 12345
write -P 0x33 70000 100
read -P 0x11 0 64k
read -P 0x00 64k 4096
read -P 0x22 96k 8k
read 200k 12345
read -P 0x33 70000 100
read 0 1M
check
