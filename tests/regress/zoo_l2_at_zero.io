# expect: metadata-corrupt
# Mutant l2_at_zero (KVM-era qcow2, 2009): the allocation of a new L2
# table fails (an injected error at cluster_alloc), the failure is not
# checked, and the table is written at host offset 0, over the header.
# With werror=stop a correct engine parks the write and retries it; with
# the mutant the write goes on as if nothing happened, and the image no
# longer has a header.
mutant l2_at_zero
image create size=1G cluster_size=64k
write -P 0x11 0 64k
inject cluster_alloc errno=EIO once
policy werror=stop
aio_write -P 0x22 512M 64k
read -P 0x11 0 64k
resume_errors
aio_flush
read -P 0x22 512M 64k
check
reopen
read -P 0x11 0 64k
