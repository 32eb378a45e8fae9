# expect: script-error
# I/O after the image was closed; and remove_break of an unknown tag
# would be one too.
image create size=1M
write -P 0x11 0 4k
close
read -P 0x11 0 4k
