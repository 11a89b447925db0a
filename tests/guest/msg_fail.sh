#!/bin/sh
# Failures between two kernels. A peer that stops answering makes an RPC
# time out and leaves no waiter behind; a peer whose modules are removed
# while traffic flows makes RPCs fail with "host is down", not hang.
# Peer 1 is the one that leaves; peer 0 watches. The two keep in step with
# barriers (lib.sh) and by the bytes each has received from the other.
. ./lib.sh

peer_down() {
	popcornctl node list | grep -q "^$peer  *down "
}

rpcs_drained() {
	expect_eq rpc_pending "$(cat $MSG_DBG/rpc_pending)" 0
}

# Both sides stop answering echoes, then each pings the other; neither
# answers again before both pings have timed out.
times_out() {
	echo 1 > $MSG_DBG/echo_drop
	if barrier 1; then
		out=$(popcornctl ping "$peer" --timeout 300ms 2>&1)
		echo "# $out"
		barrier 2
	fi
	echo 0 > $MSG_DBG/echo_drop
	case "$out" in
	*"timed out"*) ;;
	*) return 1 ;;
	esac
	popcornctl stats -o json | grep -q '"rpc_timeouts": [1-9]'
}

# Keep RPCs of 64 KiB in flight while the peer removes its modules.
watch_peer_leave() {
	out=$(popcornctl ping "$peer" -c 10000 -s 65536 --timeout 30s 2>&1)
	echo "# $out"
	case "$out" in
	*"host is down"*) ;;
	*) return 1 ;;
	esac
	peer_down
}

# Ten of the peer's 64 KiB requests have arrived since rx0: traffic flows.
under_traffic() {
	[ $(($(node_stat "$peer" rx_bytes) - rx0)) -ge $((10 * 65536)) ]
}

leave_under_traffic() {
	rx0=$(node_stat "$peer" rx_bytes)
	busywait 60000 under_traffic && pcn_rmmod
}

ktap_plan 6
ktap_check "setup" pcn_setup
ktap_check "peer up" busywait 30000 peer_up
ktap_check "a silent peer times the RPC out" times_out
ktap_check "no RPC waiter left" rpcs_drained
barrier 3
if [ "$self" = 0 ]; then
	ktap_check "peer leaving under traffic fails RPCs with host is down" watch_peer_leave
	ktap_check "rmmod popcorn_shm popcorn_msg" pcn_rmmod
else
	# Traffic from the peer's pings keeps arriving while we unload.
	ktap_check "rmmod popcorn_shm popcorn_msg under traffic" leave_under_traffic
	ktap_check "modules gone" sh -c "! grep -q '^popcorn_' /proc/modules"
fi
ktap_finish
