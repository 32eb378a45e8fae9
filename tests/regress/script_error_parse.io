# expect: script-error
# A script that does not parse: the length is missing.
image create size=1M
aio_write 32k
