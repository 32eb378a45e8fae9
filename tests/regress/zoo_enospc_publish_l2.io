# expect: metadata-corrupt
# Mutant enospc_publish_l2 (cloud-hypervisor's qcow2 before pull 8721,
# 2026): the write at 512M needs a new L2 table, which fits under the
# host limit, and a data cluster, which does not. The write fails with
# ENOSPC; the L1 entry keeps pointing at the new table but its refcount
# is dropped. After the reopen the next allocation takes the table's
# cluster for data.
mutant enospc_publish_l2
image create size=1G cluster_size=64k
write -P 0x11 0 64k
host limit 448k
expect_error ENOSPC
write -P 0x22 512M 64k
host grow 1M
reopen
write -P 0x33 64k 64k
read -P 0x33 64k 64k
check
read 512M 64k
