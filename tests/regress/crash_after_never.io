# expect: ok
# An armed power loss that the script never reaches is disarmed at the
# end: the trace behaves as if it was not there.
image create size=1M cluster_size=64k
crash after=1000 drop=random 1
write -P 0x11 0 64k
flush
read -P 0x11 0 64k
check
