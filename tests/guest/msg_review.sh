#!/bin/sh
# Defects found in review, each made to happen on purpose between two
# kernels: guest 0 misbehaves, guest 1 must not suffer for it.
#  - zero-copy sends given back (pcn_msg_abort()) in a row and after the
#    padding at the end of the ring are no corruption: no link reset;
#  - hellos with a new boot nonce in a loop do not flap the node;
#  - a node deleted and added again at once does not read again what it
#    had read before;
#  - RPCs with the shortest timeout, by the hundred, against a peer that
#    does not answer (the wait never gets a negative timeout);
#  - ping and bench stop at Ctrl-C;
#  - a reply that comes after its caller gave up is not taken for the
#    reply of the next call, which reuses the caller's slot (each ping's
#    payload differs, and is checked).
. ./lib.sh

downs() {
	dmesg | grep -c "node $peer down"
}

# guest 0
aborts() {
	echo "$peer 3000" > "$MSG_DBG/abort"
}

hello_flood() {
	echo "$peer 1000" > "$MSG_DBG/hello_flood"
}

# In a new session, a bench leaves a thousand records in guest 1's ring
# of ours; after a quick delete and add, guest 1 must not take them again.
bench_then_readd() {
	popcornctl bench "$peer" --size 64 --count 1000 >/dev/null
}

short_timeouts() {
	i=0
	while [ $i -lt 200 ]; do
		if out=$(popcornctl ping "$peer" --timeout 1ms 2>&1); then
			echo "# an unanswered ping came back: $out"
			return 1
		fi
		case "$out" in
		*"timed out"*) ;;
		*) echo "# $out"; return 1 ;;
		esac
		i=$((i + 1))
	done
}

# Guest 0 answers 300 ms late: the first ping gives up, and its reply
# arrives while the next one waits.
late_reply() {
	if out=$(popcornctl ping "$peer" --timeout 100ms 2>&1); then
		echo "# a ping of 100 ms came back: $out"
		return 1
	fi
	popcornctl ping "$peer" -c 3 --timeout 5s >/dev/null
}

# interrupted CMD...: started in the background, it stops within 3 s of
# SIGINT, with a failure status.
interrupted() {
	"$@" > /tmp/interrupted 2>&1 &
	pid=$!
	sleep 1
	if ! kill -INT $pid; then
		echo "# it ended before Ctrl-C: $(cat /tmp/interrupted)"
		return 1
	fi
	busywait 3000 sh -c "! kill -0 $pid 2>/dev/null" || { kill -9 $pid; return 1; }
	! wait $pid
}

# guest 1
no_link_reset() {
	expect_eq "errors counted" "$(node_stat "$peer" errors)" 0 &&
		expect_eq "times node $peer went down" "$(downs)" "$downs0"
}

few_restarts() {
	n=$(($(downs) - downs0))
	echo "# node $peer went down $n times for 1000 hellos with new nonces"
	[ $n -le 3 ]
}

readd() {
	echo "$peer" > "$MSG_DBG/readd" && busywait 30000 peer_up
}

readd_reads_nothing_again() {
	readd || return 1
	rx=$(node_stat "$peer" rx_msgs)
	echo "# after the delete and add: $rx messages from node $peer"
	[ "$rx" -lt 100 ]
}

ktap_plan 9
ktap_check "setup" pcn_setup
ktap_check "peer up" busywait 30000 peer_up
downs0=$(downs)
barrier 1
if [ "$self" = 0 ]; then
	ktap_check "3000 zero-copy sends aborted" aborts
	barrier 2
	barrier 3
	ktap_check "1000 hellos with new nonces sent" hello_flood
	barrier 4
	barrier 5
	ktap_check "bench 1000 messages, then the peer deletes and adds us" bench_then_readd
	barrier 6
	busywait 30000 peer_up
	# Guest 1's RPCs to us go unanswered from here on.
	echo 1 > "$MSG_DBG/echo_drop"
	barrier 7
	ktap_check "bench stops at Ctrl-C" interrupted popcornctl bench "$peer" --size 65536 --count 1000000
	ktap_check "ping stops at Ctrl-C" interrupted popcornctl ping "$peer" -s 1048576 -c 10000
	ktap_check "the peer is done with its unanswered RPCs" barrier 8
	echo 0 > "$MSG_DBG/echo_drop"
	echo 300 > "$MSG_DBG/echo_delay_ms"
	barrier 9
	ktap_check "the peer is done with its late replies" barrier 10
	echo 0 > "$MSG_DBG/echo_delay_ms"
else
	barrier 2
	ktap_check "aborts are no corruption: no reset, no error" no_link_reset
	barrier 3
	barrier 4
	ktap_check "the node restarted at most 3 times" few_restarts
	readd
	barrier 5
	barrier 6
	ktap_check "a node added again reads nothing again" readd_reads_nothing_again
	barrier 7
	ktap_check "200 RPCs of 1 ms time out cleanly" short_timeouts
	ktap_check "an unanswered ping stops at Ctrl-C" interrupted popcornctl ping "$peer" -c 10000 --timeout 60s
	ktap_check "the peer is done" barrier 8
	barrier 9
	ktap_check "a late reply is not taken for the next call's" late_reply
	barrier 10
fi
ktap_finish
