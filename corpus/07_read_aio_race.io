# expect: ok
# A read of data clusters held at read_aio while writes overwrite them in
# place; the read may see either, the model says which are legal.
image create size=2M cluster_size=64k
write -P 0x01 0 256k
break read_aio R
aio_read 0 128k
wait_break R
aio_write -P 0x02 0 64k
aio_write -P 0x03 96k 8k
resume R
aio_flush
read -P 0x02 0 64k
read -P 0x03 96k 8k
read -P 0x01 104k 152k
check
