# expect: unexpected-error
# A write past the end of the virtual disk fails; nothing expected it.
image create size=1M
write -P 0x11 1020k 8k
