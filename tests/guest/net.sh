#!/bin/sh
# The rig's links: guests reach each other over virtio-net (10.98.0.N+1)
# and guest 0 reaches the host's network namespace through its NIC.
#
#   host netns 10.99.0.1 --tap-- guest0 10.99.0.2
#                                guest0 10.98.0.1 --+-- guest1 10.98.0.2 ...
. ./lib.sh

pings() {
	busywait 20000 ping -c 1 -W 1 "$1" >/dev/null
}

ping_all_guests() {
	p=0
	while [ $p -lt "$POPCORN_GUESTS" ]; do
		pings "10.98.0.$((p + 1))" || return 1
		p=$((p + 1))
	done
}

if [ "$POPCORN_GUEST" = 0 ]; then
	ktap_plan 2
	ktap_check "ping the host namespace over the NIC" pings 10.99.0.1
else
	ktap_plan 1
fi
ktap_check "ping every guest over the guests' link" ping_all_guests
# Stay up until the others have pinged us too.
sleep 3
ktap_finish
