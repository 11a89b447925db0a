#!/bin/sh
# Fragmented messages: many 1 MiB messages in flight at once, from several
# threads and CPUs, all arrive whole (the receiver reassembles a bounded
# number at a time and never drops one under way); and a sender whose
# message cannot get through is told so.
. ./lib.sh

MIB=1048576
SENDERS=16

# SENDERS concurrent 1 MiB echoes, each checked byte for byte by the kernel.
concurrent_pings() {
	i=0 pids=
	while [ $i -lt $SENDERS ]; do
		popcornctl ping "$peer" -s $MIB -c 2 --timeout 30s > /tmp/ping.$i 2>&1 &
		pids="$pids $!"
		i=$((i + 1))
	done
	failed=0
	for pid in $pids; do
		wait "$pid" || failed=$((failed + 1))
	done
	[ $failed -eq 0 ] || { cat /tmp/ping.*; echo "# $failed of $SENDERS failed"; }
	[ $failed -eq 0 ]
}

no_errors() {
	expect_eq "errors counted" "$(node_stat "$peer" errors)" 0
}

# The peer stops reading: a long bench of 1 MiB messages must fail.
told_when_not() {
	if out=$(popcornctl bench "$peer" --size $MIB --count 500 2>&1); then
		echo "# bench went through a peer that reads nothing: $out"
		return 1
	fi
	echo "# $out"
}

stop_reading() {
	echo 1 > "$MSG_DBG/rx_stop"
	busywait 30000 sh -c "popcornctl node list | grep -q '^$peer  *down '"
	echo 0 > "$MSG_DBG/rx_stop"
	busywait 30000 peer_up
}

ktap_plan 5
ktap_check "setup" pcn_setup
ktap_check "peer up" busywait 30000 peer_up
barrier 1
ktap_check "$SENDERS concurrent 1 MiB echoes each way arrive whole" concurrent_pings
ktap_check "no errors counted" no_errors
barrier 2
if [ "$self" = 0 ]; then
	ktap_check "a sender the peer does not read from is told" told_when_not
else
	ktap_check "stop reading until the peer is down, then recover" stop_reading
fi
barrier 3
ktap_finish
