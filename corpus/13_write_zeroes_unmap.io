# expect: ok
# write -z -u over allocated clusters, then new data into the area and a
# reopen.
image create size=2M cluster_size=64k
write -P 0x11 0 512k
write -z -u 64k 256k
read -P 0x00 64k 256k
write -P 0x22 128k 4k
read -P 0x00 64k 64k
read -P 0x22 128k 4k
read -P 0x11 0 64k
reopen
read -P 0x11 320k 192k
read -P 0x00 132k 60k
check
