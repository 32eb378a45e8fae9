# expect: ok
# The shadow model's history of overlapping sub-sector writes: 64 writes
# of one pattern, 2560 bytes at offsets 3 bytes apart, a few in flight at
# a time, never flushed (aio_flush only waits). Found by cowpoke fuzz (job
# 0, seed 1, execution 254) on the correct engine: the model took ~44 s of
# CPU here (values compared piece by piece against a growing history, and
# the same bytes from racing requests kept as distinct values in every
# order); it must replay in a blink. The crash brings the whole history
# back as legal values.
image create name=w size=11328k version=3
aio_write -P 0x05 13k 2560
aio_write -P 0x05 13315 2560
aio_write -P 0x05 13318 2560
aio_flush
aio_write -P 0x05 13321 2560
aio_write -P 0x05 13324 2560
aio_write -P 0x05 13327 2560
aio_flush
aio_write -P 0x05 13330 2560
aio_write -P 0x05 13333 2560
aio_write -P 0x05 13336 2560
aio_flush
aio_write -P 0x05 13339 2560
aio_write -P 0x05 13342 2560
aio_write -P 0x05 13345 2560
aio_flush
aio_write -P 0x05 13348 2560
aio_write -P 0x05 13351 2560
aio_flush
aio_write -P 0x05 13354 2560
aio_flush
aio_write -P 0x05 13357 2560
aio_flush
aio_write -P 0x05 13360 2560
aio_flush
aio_write -P 0x05 13363 2560
aio_flush
aio_write -P 0x05 13366 2560
aio_flush
aio_write -P 0x05 13369 2560
aio_flush
aio_write -P 0x05 13372 2560
aio_flush
aio_write -P 0x05 13375 2560
aio_flush
aio_write -P 0x05 13378 2560
aio_flush
aio_write -P 0x05 13381 2560
aio_flush
aio_write -P 0x05 13384 2560
aio_flush
aio_write -P 0x05 13387 2560
aio_flush
aio_write -P 0x05 13390 2560
aio_flush
aio_write -P 0x05 13393 2560
aio_flush
aio_write -P 0x05 13396 2560
aio_flush
aio_write -P 0x05 13399 2560
aio_flush
aio_write -P 0x05 13402 2560
aio_flush
aio_write -P 0x05 13405 2560
aio_flush
aio_write -P 0x05 13408 2560
aio_flush
aio_write -P 0x05 13411 2560
aio_flush
aio_write -P 0x05 13414 2560
aio_flush
aio_write -P 0x05 13417 2560
aio_flush
aio_write -P 0x05 13420 2560
aio_flush
aio_write -P 0x05 13423 2560
aio_flush
aio_write -P 0x05 13426 2560
aio_flush
aio_write -P 0x05 13429 2560
aio_flush
aio_write -P 0x05 13432 2560
aio_flush
aio_write -P 0x05 13435 2560
aio_flush
aio_write -P 0x05 13438 2560
aio_flush
aio_write -P 0x05 13441 2560
aio_flush
aio_write -P 0x05 13444 2560
aio_flush
aio_write -P 0x05 13447 2560
aio_flush
aio_write -P 0x05 13450 2560
aio_flush
aio_write -P 0x05 13453 2560
aio_flush
aio_write -P 0x05 13456 2560
aio_flush
aio_write -P 0x05 13459 2560
aio_flush
aio_write -P 0x05 13462 2560
aio_flush
aio_write -P 0x05 13465 2560
aio_flush
aio_write -P 0x05 13468 2560
aio_flush
aio_write -P 0x05 13471 2560
aio_flush
aio_write -P 0x05 13474 2560
aio_flush
aio_write -P 0x05 13477 2560
aio_flush
aio_write -P 0x05 13480 2560
aio_flush
aio_write -P 0x05 13483 2560
aio_flush
aio_write -P 0x05 13486 2560
aio_flush
aio_write -P 0x05 13489 2560
aio_flush
aio_write -P 0x05 13492 2560
aio_flush
aio_write -P 0x05 13495 2560
aio_flush
aio_write -P 0x05 13498 2560
aio_flush
aio_write -P 0x05 13501 2560
aio_flush
read -P 0x05 13k 2749
read -P 0x00 12k 1k
read -P 0x00 16061 323
crash
read 12k 4k
