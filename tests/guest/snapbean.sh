#!/bin/sh
# Snap Bean between every pair of kernels: sb0 comes up with the MAC of
# its node and carrier once the peers are up; pings of every size up to
# the MTU cross both ways, at MTU 1500, 9000 and 65535; iperf3 moves TCP
# both ways between kernels 0 and 1 (with an XDP program on kernel 1's
# sb0) and the device counters agree with what it moved, also while both
# change their MTU under traffic; a socket on kernel 0 that busy-polls
# sb0 gets its frames pulled from the transport by NAPI; kernel 1 unloads
# snapbean in the middle of a transfer and comes back; a second device
# and a chosen MAC are refused with a reason; malformed frames and
# offloads from a peer (debug knob) are dropped and counted; the last
# kernel reloads its transport while the others ping it: its carrier
# drops within a second and comes back with its peers; the module unloads
# cleanly.
. ./lib.sh

N=$POPCORN_GUESTS

sb_up() {
	sb_setup "$(sb_addr "$self")/24"
}

sb_addr() {
	echo "10.99.0.$(($1 + 1))"
}

mac_is_node() {
	expect_eq "sb0 MAC" "$(cat /sys/class/net/sb0/address)" \
		"$(printf '02:50:43:4e:00:%02x' "$self")"
}

second_refused() {
	out=$(ip link add sb1 type snapbean 2>&1) && return 1
	echo "# $out"
	case "$out" in *"already has a snapbean device"*) ;; *) return 1 ;; esac
	out=$(ip link add sb1 address 02:00:00:00:00:01 type snapbean 2>&1) && return 1
	echo "# $out"
	case "$out" in *"cannot be chosen"*) ;; *) return 1 ;; esac
}

# One echo of each size; a lost one is logged with the counters and
# neighbours, and must come back on a second try of three echoes.
ping_peer() {
	for size in $SIZES; do
		ping -c 1 -W 10 -s "$size" "$(sb_addr "$1")" >/dev/null && continue
		echo "# ping $(sb_addr "$1") with $size bytes lost, trying again"
		ip neigh show dev sb0
		ethtool -S sb0 | grep -v ': 0$'
		ping -c 3 -W 10 -s "$size" "$(sb_addr "$1")" >/dev/null && continue
		echo "# ping $(sb_addr "$1") with $size bytes failed"
		return 1
	done
}

pings_at_mtu() {
	ip link set sb0 mtu "$1" || return 1
	SIZES="0 1 56 1000 $(($1 - 28))"
	every_peer ping_peer
}

# Every peer's counters: what we sent it, it received (both ping ways).
counters_add_up() {
	ethtool -S sb0 | grep -E "peer[0-9]+_(tx|rx)_packets: [1-9]"
	ip -s link show sb0
	[ "$(ethtool -S sb0 | grep -cE 'peer[0-9]+_rx_packets: [1-9]')" -eq $((N - 1)) ]
}

bad_frames_to() {
	echo "$1" > /sys/kernel/debug/snapbean/bad_frames
}

# Node 0 sent us seven malformed frames: each dropped and counted, none
# delivered; nobody else sent any.
bad_frames_counted() {
	want=7
	[ "$self" = 0 ] && want=0
	expect_eq "malformed frames from node 0" "$(sb_stat peer0_rx_errors)" $want &&
		expect_eq "rx_errors" "$(cat /sys/class/net/sb0/statistics/rx_errors)" $want
}

LAST=$((N - 1))

carrier_off() {
	[ "$(cat /sys/class/net/sb0/carrier)" = 0 ]
}

add_peer() {
	popcornctl node add "$1" --transport shm --endpoint "$1"
}

# On the last kernel: every node goes with the transport, so does carrier.
reload_transport() {
	rmmod popcorn_shm || return 1
	busywait 1000 carrier_off || { echo "# carrier still on 1 s after rmmod"; return 1; }
	insmod "$SHM_MOD" && every_peer add_peer && busywait 30000 all_up &&
		busywait 10000 carrier_on && every_peer ping_peer
}

# On the others: ping the last kernel all along its reload; once it is
# back, carrier is still on and it answers.
ping_through_reload() {
	rm -f /tmp/stop_pings
	while [ ! -e /tmp/stop_pings ]; do
		ping -c 1 -W 1 -s 1000 "$(sb_addr $LAST)" >/dev/null
	done &
	barrier 11 $LAST
	touch /tmp/stop_pings
	wait
	carrier_on && ping_peer $LAST
}

drvinfo() {
	ethtool -i sb0 | grep -q "^driver: snapbean"
}

# iperf_counted STAT ARGS...: run iperf3 ARGS, and print how much sb0's
# statistics STAT grew meanwhile; its JSON report is in /tmp/iperf.json.
iperf_counted() {
	f=/sys/class/net/sb0/statistics/$1
	shift
	before=$(cat "$f")
	iperf3 -J -t 3 -c "$(sb_addr 1)" "$@" > /tmp/iperf.json ||
		{ tail -n 5 /tmp/iperf.json | sed 's/^/# /'; return 1; }
	echo $(($(cat "$f") - before))
}

# iperf_bytes SUM: the bytes iperf3's JSON reports in end.SUM (what the
# receiver got: the sender counts what is still in its socket buffer).
iperf_bytes() {
	awk -v sum="\"$1\"" '$1 ~ sum { f = 1 } f && /"bytes"/ { print $2 + 0; exit }' /tmp/iperf.json
}

# moved_ok WHAT DEVICE_BYTES TCP_BYTES: the device carried all of it, and
# at most headers' worth more.
moved_ok() {
	echo "# $1: iperf3 moved $3 bytes, sb0 counted $2"
	[ "$3" -gt 1000000 ] && [ "$2" -ge "$3" ] && [ "$2" -le $(($3 + $3 / 10 + 1000000)) ]
}

iperf_both_ways() {
	d=$(iperf_counted tx_bytes) || return 1
	moved_ok "to node 1" "$d" "$(iperf_bytes sum_received)" || return 1
	d=$(iperf_counted rx_bytes -R) || return 1
	moved_ok "from node 1" "$d" "$(iperf_bytes sum_received)"
}

# Both kernels step their MTU through 1500, 9000 and 65535 while 0 sends.
mtu_steps() {
	for mtu in 9000 65535 1500 9000 1500 65535; do
		sleep 1
		ip link set sb0 mtu $mtu || return 1
	done
}

XDP_PIN=/sys/fs/bpf/sb0_xdp

# A program that counts what it sees and passes everything: steer.bpf.o
# with no service address.
xdp_attach() {
	sysctl -qw kernel.bpf_stats_enabled=1 && mkdir -p $XDP_PIN &&
		bpftool prog load /bin/steer.bpf.o $XDP_PIN/prog type xdp pinmaps $XDP_PIN &&
		bpftool net attach xdpdrv pinned $XDP_PIN/prog dev sb0 &&
		ip link show sb0 | grep -q "xdp"
}

xdp_ran() {
	runs=$(bpftool prog show pinned $XDP_PIN/prog | sed -n 's/.*run_cnt \([0-9]*\).*/\1/p')
	echo "# the XDP program on sb0 ran $runs times"
	[ "${runs:-0}" -gt 1000 ]
}

# Kernel 1, while kernel 0 sends: once 10 MB came in, snapbean goes
# (XDP program and all) and comes back.
rmmod_under_traffic() {
	f=/sys/class/net/sb0/statistics/rx_bytes
	want=$(($(cat $f) + 10000000))
	busywait 30000 sh -c "[ \$(cat $f) -ge $want ]" || return 1
	rmmod snapbean || return 1
	rm -r $XDP_PIN
	sb_up && ip link set sb0 mtu 65535 && busywait 10000 carrier_on
}

# Kernel 0: send to kernel 1 while it unloads; it answers once it is back.
# Kernel 0 busy-polls a socket on sb0 (net.core.busy_read): its NAPI
# takes the answers from the transport itself, without a doorbell, and
# counts them. The socket spins for up to 20 ms, longer than a round trip
# even on the debug kernel, so most answers arrive while it spins: at
# least a quarter of the frames sb0 received must have been pulled.
busy_poll_pulls() {
	pulled=$(sb_stat rx_pulled)
	received=$(cat /sys/class/net/sb0/statistics/rx_packets)
	sysctl -qw net.core.busy_read=20000 &&
		sockperf pp --tcp -i "$(sb_addr 1)" -p 11111 -t 2 -m 64 > /tmp/pp.out 2>&1
	err=$?
	sysctl -qw net.core.busy_read=0
	grep "percentile 50.000" /tmp/pp.out | sed 's/^/# /'
	pulled=$(( $(sb_stat rx_pulled) - pulled ))
	received=$(( $(cat /sys/class/net/sb0/statistics/rx_packets) - received ))
	echo "# busy polling pulled $pulled of $received frames from the transport"
	[ $err = 0 ] && [ "$received" -gt 0 ] && [ $((pulled * 4)) -ge "$received" ]
}

send_through_rmmod() {
	iperf3 -t 8 -c "$(sb_addr 1)" > /tmp/iperf2.out 2>&1 &
	barrier 9 1
	kill $! 2>/dev/null
	wait
	ping_peer 1
}

iperf_mtu_changes() {
	if [ "$self" = 0 ]; then
		iperf3 -t 7 -c "$(sb_addr 1)" > /tmp/iperf.out 2>&1 &
		mtu_steps || return 1
		wait $! || { tail -n 5 /tmp/iperf.out | sed 's/^/# /'; return 1; }
		tail -n 4 /tmp/iperf.out | sed 's/^/# /'
	else
		mtu_steps
	fi
}

ktap_plan 20
ktap_check "configure self and $((N - 1)) peers" pcn_setup
ktap_check "all $N nodes up" busywait 30000 all_up
ktap_check "insmod snapbean, sb0 up" sb_up
ktap_check "sb0's MAC names node $self" mac_is_node
ktap_check "carrier on with peers up" busywait 10000 carrier_on
ktap_check "ethtool -i says snapbean" drvinfo
ktap_check "a second device, or a chosen MAC, is refused" second_refused
every_peer barrier 1
ktap_check "pings of every size at MTU 1500 to every peer" pings_at_mtu 1500
if [ "$self" = 0 ]; then
	ktap_check "sent every peer seven malformed frames" every_peer bad_frames_to
else
	ktap_ok "node 0 sends the malformed frames"
fi
every_peer barrier 2
ktap_check "malformed frames dropped and counted" bad_frames_counted
every_peer barrier 3
ktap_check "pings of every size at MTU 9000 to every peer" pings_at_mtu 9000
every_peer barrier 4
ktap_check "pings of every size at MTU 65535 to every peer" pings_at_mtu 65535
every_peer barrier 5
ktap_check "per-peer counters add up" counters_add_up
if [ "$self" = 1 ]; then
	iperf3 -s -D -B "$(sb_addr 1)"
	sockperf sr --tcp -i "$(sb_addr 1)" -p 11111 --daemonize >/dev/null 2>&1
	ktap_check "node 1 serves iperf3, with an XDP program on sb0" xdp_attach
	ktap_ok "node 0 busy-polls"
	barrier 6 0
	barrier 7 0
	ktap_check "iperf3 while the MTU changes under traffic" iperf_mtu_changes
	ktap_check "the XDP program ran on the frames" xdp_ran
	barrier 8 0
	ktap_check "rmmod snapbean under traffic, and back" rmmod_under_traffic
	barrier 9 0
elif [ "$self" = 0 ]; then
	barrier 6 1
	ktap_check "a socket busy-polling sb0 takes frames from the transport" busy_poll_pulls
	ktap_check "iperf3 both ways, counted by sb0" iperf_both_ways
	barrier 7 1
	ktap_check "iperf3 while the MTU changes under traffic" iperf_mtu_changes
	barrier 8 1
	ktap_check "node 1 answers after reloading snapbean under traffic" send_through_rmmod
	ktap_ok "node 1 checks its XDP program"
else
	ktap_ok "node 0 busy-polls"
	ktap_ok "kernels 0 and 1 run iperf3"
	ktap_ok "kernels 0 and 1 change their MTU under traffic"
	ktap_ok "node 1 reloads snapbean under traffic"
	ktap_ok "node 1 checks its XDP program"
fi
every_peer barrier 10
if [ "$self" = $LAST ]; then
	ktap_check "transport reloaded: carrier off within 1 s, back with the peers" reload_transport
	every_peer barrier 11
else
	ktap_check "node $LAST answers again after its transport reloaded" ping_through_reload
fi
every_peer barrier 12
ktap_check "rmmod snapbean popcorn_shm popcorn_msg" sh -c "rmmod snapbean && rmmod popcorn_shm && rmmod popcorn_msg"
ktap_finish
