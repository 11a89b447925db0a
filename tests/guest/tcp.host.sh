#!/bin/bash
# The stranger of tcp.sh, in the rig's network namespace: bytes that are
# no hello, half a hello, hellos the kernel must refuse, a flood of silent
# connections on guest 0's port; then, as the fake node 3 that guest 0
# dials at 10.99.0.1, frames that make no sense. Guest 0 hears how it went
# and checks that it counted every one and that node 1 never noticed.
set -u
ADDR=10.99.0.2:7373
tool=${POPCORN_BUILD:-../../build}/guest/pcn-stranger
. ./host_lib.sh

trap tell_guest0 EXIT

listening() {
	for _ in $(seq 600); do
		(echo > /dev/tcp/10.99.0.2/7373) 2>/dev/null && return 0
		sleep 0.25
	done
	return 1
}

# EPERM 1, EINVAL 22, EADDRNOTAVAIL 99, EPROTONOSUPPORT 93
check "guest 0 listens on $ADDR" listening
check "garbage: closed" "$tool" garbage -addr $ADDR
check "half a hello: closed" "$tool" slow -addr $ADDR
check "hello as node 1 from the wrong address: EPERM" "$tool" hello -addr $ADDR -from 1 -to 0 -want 1
check "hello to the wrong node id: EADDRNOTAVAIL" "$tool" hello -addr $ADDR -from 1 -to 7 -want 99
check "hello of version 9: EPROTONOSUPPORT" "$tool" hello -addr $ADDR -from 1 -to 0 -version 9 -want 93
check "hello from an unknown node: ENOENT" "$tool" hello -addr $ADDR -from 5 -to 0 -want 2
check "40 silent connections: all closed" "$tool" flood -addr $ADDR -n 40
check "as node 3: bad frames end the session, junk does not" \
	"$tool" peer -listen 10.99.0.1:7373 -as 3 -to 0 -frames huge,zero,short,junk
[ "$fails" = 0 ]
