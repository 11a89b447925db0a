#!/bin/sh
# A peer that floods us with requests and never reads our replies must
# not make us hold memory without bound: once the node's backlog is full
# we stop taking its records, the back-pressure lands on the sender, and
# the link recovers when the peer reads again.
# Guest 1 floods: echo requests (answered from the receive path until our
# replies back up, then from process context) and bench-sync requests
# (process context); guest 0 is the victim and watches its memory.
. ./lib.sh

FLOOD=200000
SIZE=1024
ECHO=3
BENCH_SYNC=5
BACKLOG_BYTES=8388608
SLACK_KB=32768

# flood TYPE: stop reading, flood the victim; the flood must be refused.
flood() {
	echo 1 > "$MSG_DBG/rx_stop"
	if echo "$peer $1 $FLOOD $SIZE" > "$MSG_DBG/flood"; then
		echo "# the victim took $FLOOD requests of type $1 without pushing back"
		ok=1
	else
		ok=0
	fi
	echo 0 > "$MSG_DBG/rx_stop"
	return $ok
}

recovers() {
	busywait 30000 peer_up && busywait 30000 popcornctl ping "$peer" -s 4096
}

# The victim samples its free memory while the flood lasts.
sample_memory() {
	mem_available_kb > /tmp/mem_min
	while :; do
		m=$(mem_available_kb)
		[ "$m" -lt "$(cat /tmp/mem_min)" ] && echo "$m" > /tmp/mem_min
		sleep 0.1
	done
}

memory_bounded() {
	min=$(cat /tmp/mem_min)
	echo "# MemAvailable: ${mem0} kB before, ${min} kB at the lowest"
	[ $((mem0 - min)) -lt $SLACK_KB ]
}

backlog_bounded() {
	cat "$MSG_DBG/backlog"
	[ "$(backlog throttled)" -gt 0 ] && [ "$(backlog peak_bytes)" -le $BACKLOG_BYTES ]
}

ktap_plan 6
ktap_check "setup" pcn_setup
ktap_check "peer up" busywait 30000 peer_up
if [ "$self" = 1 ]; then
	barrier 1
	ktap_check "an echo flood is pushed back" flood $ECHO
	ktap_check "the link recovers" recovers
	ktap_check "a bench-sync flood is pushed back" flood $BENCH_SYNC
	ktap_check "the link recovers" recovers
	barrier 2
else
	mem0=$(mem_available_kb)
	sample_memory &
	sampler=$!
	barrier 1
	ktap_check "the flood hits the backlog cap, never more" busywait 60000 backlog_bounded
	ktap_check "the flooder is done" busywait 120000 barrier 2
	kill $sampler
	ktap_check "memory stayed within $SLACK_KB kB" memory_bounded
	ktap_check "the link recovers" recovers
fi
barrier 3
ktap_finish
