#!/bin/sh
# A peer kernel dies mid-traffic, over PCN_TRANSPORT: guest 0 sends echo
# RPCs to guests 1 and 2, then the client in the rig's namespace
# (snapbean_peer.host.sh, once http://10.99.0.2/phase says "transfer")
# has the rig kill guest 2's QEMU. Guest 0 declares node 2 down within
# the core's dead_ms (1 s) of its last record, its callers get an error
# and never hang, and the echoes to node 1 go on. The rig boots guest 2
# again with the same identity (POPCORN_BOOT=2); it rejoins by itself and
# answers again.
. ./lib.sh

# This suite times the default dead_ms, on every kernel.
unset POPCORN_DEAD_MS
VICTIM=2

node_state() {
	popcornctl node list | awk -v n="$1" '$1 == n { print $2 }'
}

victim_down() {
	[ "$(node_state $VICTIM)" = down ]
}

victim_up() {
	[ "$(node_state $VICTIM)" = up ]
}

# echoes NODE: echo RPCs until /tmp/stop exists; a failure is noted in
# /tmp/echo-NODE.err, one that took over 5 s (a hang) in /tmp/echo-NODE.slow.
echoes() {
	while [ ! -e /tmp/stop ]; do
		t0=$(date +%s)
		popcornctl ping "$1" -c 5 -s 1024 --timeout 2s >/dev/null 2>&1 ||
			echo fail >> "/tmp/echo-$1.err"
		[ $(($(date +%s) - t0)) -le 5 ] || echo slow >> "/tmp/echo-$1.slow"
	done
}

# Guest 0: echoes to both, then the kill. The core logs how long node 2
# had been silent when it was declared down.
kill_mid_traffic() {
	rm -f /tmp/stop /tmp/echo-*
	echoes 1 &
	echoes $VICTIM &
	sleep 2
	echo transfer > /tmp/www/phase
	busywait 60000 victim_down || return 1
	silent=$(dmesg | sed -n "s/.*node $VICTIM silent for \([0-9]*\) ms/\1/p" | tail -n 1)
	echo "# node $VICTIM down after ${silent:-?} ms of silence"
	[ -n "$silent" ] && [ "$silent" -le 1000 ]
}

victim_failed_fast() {
	[ -e /tmp/echo-$VICTIM.err ] && [ ! -e /tmp/echo-$VICTIM.slow ]
}

bystander_went_on() {
	sleep 3
	touch /tmp/stop
	wait
	[ ! -e /tmp/echo-1.err ] && [ ! -e /tmp/echo-1.slow ]
}

victim_back() {
	busywait 120000 victim_up &&
		popcornctl ping $VICTIM -c 3 -s 65536 --timeout 10s >/dev/null
}

await_kill() {
	sleep 120
	echo "# not killed"
	return 1
}

if [ "$POPCORN_GUEST" = 2 ] && [ "$POPCORN_BOOT" = 1 ]; then
	ktap_plan 3
	ktap_check "configure nodes over $PCN_TRANSPORT" pcn_setup
	ktap_check "all nodes up" busywait 60000 all_up
	every_peer barrier 1
	ktap_check "killed mid-traffic" await_kill
	ktap_finish
fi

case "$POPCORN_GUEST" in
0) ktap_plan 7 ;;
1) ktap_plan 5 ;;
*) ktap_plan 3 ;;
esac
ktap_check "configure nodes over $PCN_TRANSPORT" pcn_setup
ktap_check "all nodes up" busywait 60000 all_up
case "$POPCORN_GUEST" in
0)
	mkdir -p /tmp/www && echo setup > /tmp/www/phase &&
		busybox httpd -p 10.99.0.2:80 -h /tmp/www
	every_peer barrier 1
	ktap_check "node $VICTIM down within 1 s of its last record" kill_mid_traffic
	ktap_check "echoes to it failed, none hung" victim_failed_fast
	ktap_check "echoes to node 1 went on" bystander_went_on
	ktap_check "node $VICTIM back after its reboot, answering" victim_back
	;;
1)
	every_peer barrier 1
	ktap_check "node $VICTIM went down" busywait 60000 victim_down
	ktap_check "node $VICTIM came back" busywait 120000 victim_up
	;;
2)
	echo "# boot $POPCORN_BOOT: rejoining"
	;;
esac
every_peer barrier 2
ktap_check "rmmod" pcn_rmmod
ktap_finish
