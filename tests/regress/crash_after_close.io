# expect: ok
# The power goes during a close, after its first host write (the cache
# write-back): the close never finished, so the image comes back open,
# and what the close had not yet made durable may or may not be there.
image create size=4M cluster_size=4k
write -P 0x11 0 64k
flush
write -P 0x22 1M 256k
crash after=1
close
read -P 0x11 0 64k
read 1M 256k
check
