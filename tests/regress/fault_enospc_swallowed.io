# expect: data-mismatch
# The oracle catches a swallowed ENOSPC (mutant swallow_enospc, Xen's
# qemu-dm and blktap, Red Hat bug 217859): under the default werror=report
# the data write past the host limit fails, the engine tells the guest it
# succeeded anyway, and its cluster stays linked over bytes never written.
# The write carries no expect_error (a correct engine would fail it:
# unexpected-error), so only the shadow model can tell: the read must
# return 0x22 and returns zeroes.
mutant swallow_enospc
image create size=16M cluster_size=512
write -P 0x11 0 4k
flush
host limit 10240
write -P 0x22 4k 512
read -P 0x11 0 4k
read 4k 512
