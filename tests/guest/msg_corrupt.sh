#!/bin/sh
# A peer kernel writes garbage into the ring it sends on (fault injection
# on peer 0). Peer 1 must drop it, count it, reset the link and talk
# again; neither kernel may splat (the rig checks both consoles).
. ./lib.sh

errors_counted() {
	popcornctl stats -o json | grep -q '"errors": 1,'
}

dropped_and_logged() {
	busywait 30000 errors_counted && dmesg | grep -q 'corrupt ring'
}

ping_once() {
	popcornctl ping "$peer" -c 1 >/dev/null 2>&1
}

# The link goes down and up again; pings work once it is back.
pings_again() {
	busywait 30000 ping_once && popcornctl ping "$peer" -c 20 -s 4095 >/dev/null
}

ktap_plan 5
ktap_check "setup" pcn_setup
ktap_check "peer up" busywait 30000 peer_up
barrier 1
if [ "$self" = 0 ]; then
	ktap_check "inject a corrupt record" sh -c \
		"echo $peer > /sys/kernel/debug/popcorn_shm/inject_corrupt"
else
	ktap_check "the corrupt record is dropped once, counted and logged" dropped_and_logged
fi
ktap_check "the link recovers: pings of 4095 bytes" pings_again
# Stay until the peer is done pinging us.
barrier 2
ktap_check "rmmod popcorn_shm popcorn_msg" pcn_rmmod
ktap_finish
