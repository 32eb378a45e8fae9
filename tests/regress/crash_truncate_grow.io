# expect: ok
# Power losses inside truncate. The engine zeroes and flushes first, then
# writes the header's new size synchronously; a truncate the power cuts
# short comes back with the old size or the new one, and the shadow model
# learns which from the reopened engine (models/shadow.h, "Truncate").
# The first cut falls before the size reaches the disk: the old size
# comes back, so the grown area is gone again. The second falls after
# it (right after the header write's flush): the new size comes back, and
# the grown area reads zeroes.
image create name=base size=4M cluster_size=64k
write -P 0x11 0 4M
image create name=top size=1M backing=base
write -P 0x22 64k 64k
flush
crash after=1
truncate 2M
expect_error EINVAL
read 1M 64k
read -P 0x22 64k 64k
truncate 3M
read -P 0x00 1M 2M
read -P 0x11 0 64k
write -P 0x33 2M 64k
crash after=6
truncate 4M
read -P 0x00 3M 1M
read -P 0x33 2M 64k
check
