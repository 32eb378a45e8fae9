# expect: data-mismatch
# Mutant l2_evict_dirty: a dirty L2 table chosen for eviction is dropped
# instead of written back. With 512-byte clusters one L2 table maps 32k,
# so a 1M write links 32 tables through a cache of 16: the tables evicted
# while dirty lose their new entries and those clusters read as zeroes.
mutant l2_evict_dirty
image create size=1M cluster_size=512
write -P 0x11 0 1M
read -P 0x11 0 1M
check
