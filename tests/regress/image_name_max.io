# expect: ok
# An image name may be as long as the language allows (64 bytes): the
# executor once kept 63 of them, so naming the image again (backing=,
# image use) failed with "no earlier image named". Found by the built-in
# fuzzer (a decoded trace gave a backing file a 64-byte name).
image create name=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb size=1M cluster_size=64k
write -P 0x11 0 128k
image create name=top size=1M backing=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
write -P 0x22 64k 4k
read -P 0x11 0 64k
read -P 0x22 64k 4k
read -P 0x11 68k 60k
image use bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
read -P 0x11 0 128k
check
