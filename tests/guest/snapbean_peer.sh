#!/bin/sh
# A peer kernel dies in the middle of a transfer: guest 0 sends to guest
# 2 over sb0 (iperf3) and to guest 1, then the client in the rig's
# namespace (snapbean_peer.host.sh) has the rig kill guest 2's QEMU. Guest
# 0 sees node 2 go down, its frames for it counted as having no peer,
# and its carrier stay on; the transfer to guest 1 goes on. The rig boots
# guest 2 again with the same window peer id (POPCORN_BOOT=2); it rejoins
# and answers over sb0 again. sb0 addresses here follow the guest index:
# guest G is 10.97.0.G+1.
. ./lib.sh

# This suite times the default dead_ms, on every kernel.
unset POPCORN_DEAD_MS

VICTIM=10.97.0.3
BYSTANDER=10.97.0.2

# node_of ADDR: the node id in the MAC of sb0 neighbour ADDR.
node_of() {
	ping -c 1 -W 5 "$1" >/dev/null || return 1
	mac=$(ip neigh show "$1" dev sb0 | sed -n 's/.*lladdr \([0-9a-f:]*\).*/\1/p')
	echo $((0x${mac##*:}))
}

node_state() {
	popcornctl node list | awk -v n="$1" '$1 == n { print $2 }'
}

node_down() {
	[ "$(node_state "$victim")" = down ]
}

node_up() {
	[ "$(node_state "$victim")" = up ]
}

uptime_cs() {
	awk '{ printf "%d\n", $1 * 100 }' /proc/uptime
}

sending_to_victim() {
	[ "$(sb_stat "peer${victim}_tx_bytes")" -gt 10000000 ]
}

# Guest 0: traffic to both, then the kill. Node 2 must be declared down
# within the core's dead_ms (1 s) of the last record it sent, as the core
# logs it; the last frame seen on sb0, sampled by this shell, says the
# same from outside (give or take one of its rounds).
kill_mid_transfer() {
	iperf3 -t 60 -c $VICTIM > /tmp/victim.out 2>&1 &
	victim_iperf=$!
	iperf3 -J -t 12 -c $BYSTANDER > /tmp/bystander.json 2>&1 &
	bystander_iperf=$!
	busywait 30000 sending_to_victim || return 1
	echo transfer > /tmp/www/phase
	frame_ms=$(silence_until_down) || return 1
	core_ms=$(dmesg | sed -n "s/.*node $victim silent for \([0-9]*\) ms/\1/p" | tail -n 1)
	echo "# node $victim down ${core_ms:-?} ms after its last record, ${frame_ms} ms after its last frame"
	[ -n "$core_ms" ] && [ "$core_ms" -le 1000 ]
}

# Print how long node $victim had sent no frame when it was declared
# down; fail if that takes over 30 s.
silence_until_down() {
	t0=$(uptime_cs)
	heard=$t0
	bytes=$(sb_stat "peer${victim}_rx_bytes")
	until node_down; do
		now=$(uptime_cs)
		[ $((now - t0)) -gt 3000 ] && return 1
		b=$(sb_stat "peer${victim}_rx_bytes")
		[ "$b" != "$bytes" ] && bytes=$b && heard=$now
	done
	echo $(( ($(uptime_cs) - heard) * 10 ))
}

frames_have_no_peer() {
	before=$(sb_stat tx_no_peer)
	ping -c 1 -W 1 $VICTIM >/dev/null 2>&1
	ping -c 1 -W 1 $VICTIM >/dev/null 2>&1
	echo "# tx_no_peer $before -> $(sb_stat tx_no_peer)"
	[ "$(sb_stat tx_no_peer)" -gt "$before" ] && carrier_on
}

bystander_went_on() {
	wait $bystander_iperf || { tail -n 5 /tmp/bystander.json | sed 's/^/# /'; return 1; }
	bytes=$(awk '/"sum_received"/ { f = 1 } f && /"bytes"/ { print $2 + 0; exit }' /tmp/bystander.json)
	echo "# iperf3 to guest 1 moved $bytes bytes through the kill"
	[ "$bytes" -gt 1000000 ]
}

victim_answers() {
	ping -c 1 -W 2 $VICTIM >/dev/null
}

# Its node comes up before its sb0 does.
victim_back() {
	kill $victim_iperf 2>/dev/null
	wait $victim_iperf
	busywait 120000 node_up && busywait 60000 victim_answers
}

# Every other guest answers over sb0.
ping_all() {
	for a in 10.97.0.1 $BYSTANDER $VICTIM; do
		[ "$a" = "10.97.0.$((POPCORN_GUEST + 1))" ] && continue
		ping -c 1 -W 10 "$a" >/dev/null || return 1
	done
}

# Guest 2's first boot waits to be killed; still alive after two minutes
# is a failure.
await_kill() {
	sleep 120
	echo "# not killed"
	return 1
}

unload() {
	rmmod snapbean && rmmod popcorn_shm && rmmod popcorn_msg
}

sb_up() {
	sb_setup "10.97.0.$((POPCORN_GUEST + 1))/24" && busywait 10000 carrier_on
}

if [ "$POPCORN_GUEST" = 2 ] && [ "$POPCORN_BOOT" = 1 ]; then
	ktap_plan 4
	ktap_check "configure nodes" pcn_setup
	ktap_check "all nodes up" busywait 60000 all_up
	ktap_check "sb0 up, carrier on" sb_up
	iperf3 -s -D
	every_peer barrier 1
	ktap_check "killed mid-transfer" await_kill
	ktap_finish
fi

case "$POPCORN_GUEST" in
0) ktap_plan 10 ;;
1) ktap_plan 7 ;;
*) ktap_plan 5 ;;
esac
ktap_check "configure nodes" pcn_setup
ktap_check "all nodes up" busywait 60000 all_up
ktap_check "sb0 up, carrier on" sb_up
case "$POPCORN_GUEST" in
0)
	mkdir -p /tmp/www && echo setup > /tmp/www/phase &&
		busybox httpd -p 10.99.0.2:80 -h /tmp/www
	every_peer barrier 1
	victim=$(node_of $VICTIM)
	ktap_check "guest 2 is node $victim" [ -n "$victim" ]
	ktap_check "node $victim down within 1 s of its last frame, mid-transfer" kill_mid_transfer
	ktap_check "frames for it count as having no peer; carrier stays on" frames_have_no_peer
	ktap_check "the transfer to guest 1 went on" bystander_went_on
	ktap_check "node $victim back after its reboot, answering over sb0" victim_back
	;;
1)
	iperf3 -s -D
	victim=$(node_of $VICTIM)
	every_peer barrier 1
	ktap_check "node $victim went down" busywait 60000 node_down
	ktap_check "node $victim came back" busywait 120000 node_up
	;;
2)
	echo "# boot $POPCORN_BOOT: rejoining"
	;;
esac
every_peer barrier 2
ktap_check "every other guest answers over sb0" ping_all
every_peer barrier 3
ktap_check "unload" unload
ktap_finish
