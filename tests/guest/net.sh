#!/bin/sh
# The rig's links: guests reach each other over virtio-net (10.98.0.N+1),
# a bridge in the rig's own network namespace, and guest 0 reaches that
# namespace through its NIC.
#
#   netns tap0 10.99.0.1 --- guest0 10.99.0.2
#   netns br0: lnk0 --- guest0 10.98.0.1, lnk1 --- guest1 10.98.0.2, ...
. ./lib.sh

# within SECONDS COMMAND...: poll until the command succeeds. (busywait
# counts 50 ms a try, and a ping or arping that goes unanswered takes
# seconds.)
within() {
	end=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt $end ] || return 1
		sleep 0.05
	done
}

# ping1 ADDR: one ping, answered within 5 s.
ping1() {
	out=$(ping -c 1 -W 5 "$1" 2>&1)
}

# pings ADDR: answered within a minute, however slowly the other guest
# boots.
pings() {
	within 60 ping1 "$1" && return 0
	echo "$out" | sed 's/^/# /'
	return 1
}

ping_all_guests() {
	p=0
	while [ $p -lt "$POPCORN_GUESTS" ]; do
		pings "10.98.0.$((p + 1))" || return 1
		p=$((p + 1))
	done
}

# A guest that has pinged every guest adds a second address to its link,
# 10.98.0.N+101: it is done with the others.
done_addr() {
	echo "10.98.0.$(($1 + 101))"
}

owned() {
	arping -q -f -c 2 -w 2 -I "$LINK" "$1"
}

# Guest $1 is done with us when its done address answers, or when it has
# left: it leaves only once every guest, itself included, is done. (It
# answered our pings, so it was up.)
peer_done() {
	owned "$(done_addr "$1")" || ! owned "10.98.0.$(($1 + 1))"
}

all_done() {
	p=0
	while [ $p -lt "$POPCORN_GUESTS" ]; do
		[ $p = "$POPCORN_GUEST" ] || peer_done $p || return 1
		p=$((p + 1))
	done
}

# Stay up until the others have pinged us, and every guest too.
stay_until_all_done() {
	ip addr add "$(done_addr "$POPCORN_GUEST")/24" dev "$LINK" &&
		within 120 all_done
}

LINK=$(ip -o -4 addr show to 10.98.0.0/24 | awk '{ print $2; exit }')
if [ "$POPCORN_GUEST" = 0 ]; then
	ktap_plan 3
	ktap_check "ping the host namespace over the NIC" pings 10.99.0.1
else
	ktap_plan 2
fi
ktap_check "ping every guest over the guests' link" ping_all_guests
ktap_check "every guest is done with us" stay_until_all_done
ktap_finish
