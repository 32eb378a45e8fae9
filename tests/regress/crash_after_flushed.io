# expect: ok
# A completed flush makes everything before it durable: the power goes
# right after the first host write following the flush (drop=all: every
# unflushed sector lost), and the flushed data reads back exactly, while
# the write cut short may have landed or not.
image create size=8M cluster_size=64k
write -P 0x11 0 192k
write -P 0x22 2M 64k
flush
crash after=1
write -P 0x33 64k 64k
read -P 0x11 0 64k
read 64k 64k
read -P 0x11 128k 64k
read -P 0x22 2M 64k
check
