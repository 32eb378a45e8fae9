# expect: deadlock
# A breakpoint on an event the engine never announces (it prepares no
# empty images): wait_break can never be satisfied.
image create size=1M cluster_size=64k
break empty_image_prepare A
aio_write -P 0x11 4k 4k
wait_break A
