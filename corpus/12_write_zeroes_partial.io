# expect: ok
# Write-zeroes over partial clusters, on an image and on an overlay whose
# backing file has data.
image create name=base size=1M cluster_size=64k
write -P 0x11 0 1M
write -z 10k 100k
read -P 0x11 0 10k
read -P 0x00 10k 100k
read -P 0x11 110k 18k
image create size=1M backing=base
write -z 200k 3k
write -z -u 256k 128k
read -P 0x00 200k 3k
read -P 0x00 256k 128k
read -P 0x11 192k 8k
read 0 1M
check
