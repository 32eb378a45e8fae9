# expect: ok
# A power loss inside `image create` of an overlay, right after its first
# host write (the header and refcount structures, still volatile; the 1st
# host I/O is the flush of closing base): with drop=random 2 the header
# survives, the refcount table does not. The half-created image is tried
# once, read-only: the engine refuses it or opens it as an image that maps
# no data at its size (docs/language.md, "Power loss at a host write");
# then it is dropped. The backing image, flushed and closed before the
# overlay's creation began, reads back whole.
image create name=base size=2M cluster_size=64k
write -P 0x11 0 1M
flush
crash after=2 drop=random 2
image create name=top size=4M cluster_size=4k backing=base
image use base
read -P 0x11 0 1M
read -P 0x00 1M 1M
image create name=top2 size=4M backing=base
write -P 0x22 0 64k
read -P 0x11 64k 64k
check
