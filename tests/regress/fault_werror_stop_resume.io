# expect: ok
# policy werror=stop with 512-byte clusters: two writes run into the host
# limit (one needs a new L2 table, one only data clusters) and are stopped
# rather than failed; a read meanwhile still works; after host grow,
# resume_errors retries both whole and all their data is there, also after
# a reopen.
image create size=16M cluster_size=512
write -P 0x11 0 8k
flush
host limit 20k
policy werror=stop
aio_write -P 0x22 64k 16k
aio_write -P 0x33 8k 8k
read -P 0x11 0 8k
host grow 1M
resume_errors
aio_flush
read -P 0x11 0 8k
read -P 0x33 8k 8k
read -P 0x22 64k 16k
reopen
read -P 0x22 64k 16k
read -P 0x33 8k 8k
check
