# expect: data-mismatch
# -P is a person's expectation on top of the model: a wrong one fails.
image create size=1M
write -P 0x11 0 4k
read -P 0x12 0 4k
