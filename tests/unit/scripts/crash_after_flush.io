# expect: ok
# Power loss keeps what was flushed; unflushed writes may or may not survive.
image create size=8M
write -P 0x11 0 256k
flush
write -P 0x22 0 64k
crash
read -P 0x11 64k 192k
check
