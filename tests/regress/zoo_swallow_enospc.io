# expect: data-mismatch
# Mutant swallow_enospc (Xen qemu-dm/blktap, Red Hat bug 217859, 2006): a
# host write that failed with ENOSPC is reported to the guest as a
# success. The host file is full right after the first cluster; the
# second write needs a new cluster past the limit. With werror=stop a
# correct engine parks the write and retries it once the disk grew; with
# the mutant the write "succeeds", its cluster is linked over bytes never
# written, and the read returns zeroes.
mutant swallow_enospc
image create size=16M cluster_size=64k
write -P 0x11 0 64k
host limit 384k
policy werror=stop
aio_write -P 0x22 64k 64k
read -P 0x11 0 64k
host grow 1M
resume_errors
aio_flush
read -P 0x22 64k 64k
check
