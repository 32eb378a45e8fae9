# expect: ok
# remove_break resumes the request held under its tag.
image create size=1M cluster_size=64k
write -P 0x11 0 64k
break write_aio A
aio_write -P 0x22 0 4k
wait_break A
remove_break A
aio_flush
read -P 0x22 0 4k
read -P 0x11 4k 60k
check
