# expect: script-error
# I/O with no image open.
write -P 0x11 0 4k
