# expect: script-error
# resume of a tag nothing is suspended under.
image create size=1M
break cow_read A
resume A
