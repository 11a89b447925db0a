#!/bin/sh
# make demo: the kernels configure each other as nodes with popcornctl,
# then every kernel pings and benches every other over shared memory;
# then every kernel serves one service address over Snap Bean, and a
# client in the rig's namespace (demo.host.sh) is answered through guest
# 0's NIC by another kernel.
. ./lib.sh
. ./service.sh

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

# Stay until every peer is done with us too, then unload.
unload() {
	every_peer tell_done
	busywait 120000 all_done && rmmod snapbean && pcn_rmmod
}

serve_all() {
	sb_up && busywait 10000 carrier_on && serve
}

if [ "$POPCORN_GUEST" = 0 ]; then ktap_plan 10; else ktap_plan 7; fi
ktap_check "configure nodes" pcn_setup
echo "# $(uname -r), this kernel is node $self of $N"
ktap_check "all $N nodes up" busywait 30000 all_up
show node list
ktap_check "ping every peer" every_peer ping_peer
ktap_check "bench every peer" every_peer bench_peer
show stats
ktap_check "Snap Bean up, serving $SVC" serve_all
service_run
ktap_check "unload" unload
ktap_finish
