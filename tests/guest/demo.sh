#!/bin/sh
# make demo: every kernel runs popcornd on the same description of the
# machine (service.sh's pcn_conf), which names its node, its peers, Snap
# Bean's addresses and the service address; then every kernel pings and
# benches every other over shared memory; then every kernel serves the
# service address over Snap Bean, and a client in the rig's namespace
# (demo.host.sh) is answered through guest 0's NIC by another kernel.
. ./lib.sh
. ./service.sh
SERVICE_BY_POPCORND=1

N=$POPCORN_GUESTS
PINGS=100
PING_SIZE=64
BENCH_COUNT=500
BENCH_SIZE=65536
# When a kernel is done with the others it tells each with one bench
# message of DONE_SIZE bytes; none unloads before all have told it.
DONE_SIZE=65536

show() {
	echo "\$ popcornctl $*"
	popcornctl "$@"
}

ping_peer() {
	show ping "$1" -c $PINGS -s $PING_SIZE
}

bench_peer() {
	show bench "$1" --size $BENCH_SIZE --count $BENCH_COUNT
}

# A peer that unloads as soon as it has heard from us may leave our last
# bench sync unanswered: that is no failure.
tell_done() {
	popcornctl bench "$1" --size $DONE_SIZE --count 1 >/dev/null 2>&1 || :
}

# rx_bytes NODE: payload bytes received from NODE so far.
rx_bytes() {
	popcornctl stats -o json | awk -v n="$1" '
		/"id":/ { id = $2 + 0 }
		/"rx_bytes":/ && id == n { print $2 + 0 }'
}

# Everything a peer sends us in the demo: its pings and bench, the echoes
# of our pings, the answers to the two syncs of each of our benches
# (8 bytes each), its hellos (a few small ones) and, last, DONE_SIZE.
# We have that much only once its "done" has arrived.
heard_done() {
	want=$((2 * PINGS * PING_SIZE + BENCH_COUNT * BENCH_SIZE + 4 * 8 + DONE_SIZE))
	[ "$(rx_bytes "$1")" -ge $want ]
}

all_done() {
	every_peer heard_done
}

# Stay until every peer is done with us too, then stop popcornd and
# unload.
unload() {
	every_peer tell_done
	busywait 120000 all_done && kill -TERM "$popcornd" && wait "$popcornd" &&
		rmmod snapbean && pcn_rmmod
}

start() {
	pcn_insmod && insmod "$SB_MOD" || return 1
	self=$(cat "$(shm_dev)/popcorn/peer_id")
	pcn_conf $(pcn_nodes)
	echo "\$ popcornctl config check $POPCORN_CONF"
	popcornctl config check $POPCORN_CONF || return 1
	popcornd -config $POPCORN_CONF -listen :9464 >/tmp/popcornd.log 2>&1 &
	popcornd=$!
}

sb0_ready() {
	all_up && carrier_on
}

if [ "$POPCORN_GUEST" = 0 ]; then ktap_plan 10; else ktap_plan 7; fi
ktap_check "insmod, popcornd -config $POPCORN_CONF" start
echo "# $(uname -r), this kernel is node $self of $N"
ktap_check "all $N nodes up, sb0 has carrier" busywait 30000 sb0_ready
show status
ktap_check "ping every peer" every_peer ping_peer
ktap_check "bench every peer" every_peer bench_peer
show stats
ktap_check "serving $SVC" serve
service_run
ktap_check "unload" unload
ktap_finish
