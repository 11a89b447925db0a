#!/bin/sh
# make demo: every kernel runs popcornd on the same description of the
# machine (service.sh's pcn_conf), which names its node, its peers, Snap
# Bean's addresses and the service address; then every kernel pings and
# benches every other over shared memory; then every kernel serves the
# service address over Snap Bean, and a client in the rig's namespace
# (demo.host.sh) is answered through guest 0's NIC by another kernel,
# which Angel chose; last, guest 2 is loaded and its buckets move away.
. ./lib.sh
. ./service.sh
SERVICE_BY_POPCORND=1
ANGEL_NIC=eth0

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
		rm -rf /sys/fs/bpf/popcorn && rmmod snapbean && pcn_rmmod
}

start() {
	pcn_insmod && insmod "$SB_MOD" || return 1
	self=$(cat "$(shm_dev)/popcorn/peer_id")
	if [ "$self" = 0 ]; then
		show angel set 0 --mode hold || return 1
	fi
	pcn_conf $(pcn_nodes)
	echo "\$ popcornctl config check $POPCORN_CONF"
	popcornctl config check $POPCORN_CONF || return 1
	popcornd -config $POPCORN_CONF -listen :9464 >/tmp/popcornd.log 2>&1 &
	popcornd=$!
}

sb0_ready() {
	all_up && carrier_on
}

# Angel: the client is answered by another kernel through guest 0's NIC;
# then guest 2 loads itself with a CPU hog and guest 0 shows its buckets
# moving away. The owner, which forwards every packet of the others'
# connections, holds its share (popcornctl angel set 0 --mode hold).
moved_off() {
	[ "$(angel_buckets 2)" -lt $((before / 2)) ]
}

angel_run() {
	if [ "$POPCORN_GUEST" = 0 ]; then
		ktap_check "every other kernel serves $SVC too" every_peer barrier 1
		ktap_check "Angel steers $SVC from the NIC over the kernels" busywait 60000 angel_steering
		show angel status
		ktap_check "the client in the host's namespace is done" host_done
		before=$(angel_buckets 2)
		echo "# guest 2, which has $before buckets, loads itself"
		barrier 2 2
		ktap_check "guest 2 loaded: its buckets move away" busywait 120000 moved_off
		show angel status
		every_peer barrier 3
	else
		ktap_check "replies routed through the owner" route_via_owner
		every_peer barrier 1
		if [ "$POPCORN_GUEST" = 2 ]; then
			barrier 2 0
			ktap_check "loaded with a CPU hog" angel_hog
		fi
		barrier 3 0
		[ -z "${hog:-}" ] || kill $hog
	fi
}

case $POPCORN_GUEST in
0) ktap_plan 10 ;;
2) ktap_plan 8 ;;
*) ktap_plan 7 ;;
esac
ktap_check "insmod, popcornd -config $POPCORN_CONF" start
echo "# $(uname -r), this kernel is node $self of $N"
ktap_check "all $N nodes up, sb0 has carrier" busywait 30000 sb0_ready
show status
ktap_check "ping every peer" every_peer ping_peer
ktap_check "bench every peer" every_peer bench_peer
show stats
ktap_check "serving $SVC" serve
angel_run
ktap_check "unload" unload
ktap_finish
