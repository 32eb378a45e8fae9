# expect: ok
# Data survives close and reopen; caches start empty after reopen.
image create size=4M cluster_size=4k
write 0 1M
write -P 0x77 3M 4k
reopen
read 0 1M
read -P 0x77 3M 4k
close
reopen
read -P 0x77 3M 4k
check
