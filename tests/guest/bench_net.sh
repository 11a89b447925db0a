#!/bin/sh
# make bench-net, in two guests joined both by virtio-net (10.98.0.N+1, a
# bridge in the rig's namespace) and by Snap Bean (sb0, 10.97.0.NODE+1):
# guest 0 measures, guest 1 serves. At MTU 1500 and at each device's
# largest MTU, one after the other on each device: iperf3 TCP throughput
# and sockperf TCP ping-pong latency (64 bytes); then TCP over loopback
# inside guest 0, the guest's own ceiling, and a 64-byte message round
# trip between the kernels; last, the round trips again at MTU 1500 with
# both kernels busy-polling the device's NAPI from the waiting socket
# (net.core.busy_read and busy_poll), on both devices alike. Prints
# "# net ..." lines.
. ./lib.sh

SECS=5
VIRTIO_MAX=65000
SB_MAX=65535
BUSY_POLL_US=200

virtio_dev() {
	for d in /sys/class/net/*; do
		case "$(cat "$d/address")" in 52:54:00:00:01:*) echo "${d##*/}" ;; esac
	done
}

setup() {
	pcn_setup && busywait 30000 all_up && sb_setup "10.97.0.$((self + 1))/24"
}

# serve_rtt PORT: sockperf servers on both devices.
serve_rtt() {
	sockperf sr --tcp -i "10.98.0.$((POPCORN_GUEST + 1))" -p "$1" --daemonize >/dev/null 2>&1 &&
		sockperf sr --tcp -i "10.97.0.$((self + 1))" -p "$1" --daemonize >/dev/null 2>&1
}

serve() {
	iperf3 -s -D && serve_rtt 11111
}

# Sockets made from now on busy-poll for up to BUSY_POLL_US when they
# wait, in recv (busy_read) and in poll/epoll (busy_poll).
busy_setup() {
	set_mtus 1500 1500 &&
		sysctl -qw net.core.busy_read=$BUSY_POLL_US net.core.busy_poll=$BUSY_POLL_US
}

# set_mtus VIRTIO SNAPBEAN
set_mtus() {
	ip link set "$(virtio_dev)" mtu "$1" && ip link set sb0 mtu "$2"
}

# tput ADDR: MB/s of TCP to ADDR, as the receiver counted it.
tput() {
	iperf3 -J -t $SECS -c "$1" |
		awk '/"sum_received"/ { f = 1 } f && /"bits_per_second"/ { printf "%.1f\n", $2 / 8e6; exit }'
}

# rtt ADDR [PORT]: "p50 p99" of 64-byte TCP round trips to ADDR, in us.
rtt() {
	sockperf pp --tcp -i "$1" -p "${2:-11111}" -t 3 -m 64 2>&1 |
		awk '/percentile 50.000/ { p50 = $NF } /percentile 99.000/ { p99 = $NF }
		     END { printf "%.1f %.1f\n", p50, p99 }'
}

# measure LABEL VIRTIO_MTU SB_MTU: both devices, side by side.
measure() {
	v_addr=10.98.0.$((peer_guest + 1))
	s_addr=10.97.0.$((peer + 1))
	v_tput=$(tput "$v_addr")
	s_tput=$(tput "$s_addr")
	set -- "$1" "$2" "$3" $(rtt "$v_addr") $(rtt "$s_addr")
	echo "# net tput dev=virtio mtu=$2 MBps=$v_tput"
	echo "# net tput dev=snapbean mtu=$3 MBps=$s_tput"
	echo "# net rtt dev=virtio mtu=$2 size=64 p50_us=$4 p99_us=$5"
	echo "# net rtt dev=snapbean mtu=$3 size=64 p50_us=$6 p99_us=$7"
	echo "# net ratio_snapbean_over_virtio mtu=$1" \
		"throughput=$(awk "BEGIN { printf \"%.2f\", $s_tput / $v_tput }")" \
		"latency_p50=$(awk "BEGIN { printf \"%.2f\", $6 / $4 }")"
}

# measure_busy: round trips only, both devices, with busy polling.
measure_busy() {
	set -- $(rtt "10.98.0.$((peer_guest + 1))" 11113) $(rtt "10.97.0.$((peer + 1))" 11113)
	echo "# net rtt dev=virtio mtu=1500 size=64 busy_poll_us=$BUSY_POLL_US p50_us=$1 p99_us=$2"
	echo "# net rtt dev=snapbean mtu=1500 size=64 busy_poll_us=$BUSY_POLL_US p50_us=$3 p99_us=$4"
	echo "# net ratio_snapbean_over_virtio mtu=1500 busy_poll_us=$BUSY_POLL_US" \
		"latency_p50=$(awk "BEGIN { printf \"%.2f\", $3 / $1 }")"
}

# TCP over loopback inside this guest, and a kernel-to-kernel message
# round trip: what the stack alone costs, and what the window alone does.
ceilings() {
	iperf3 -s -D -B 127.0.0.1 -p 5202 &&
		sockperf sr --tcp -i 127.0.0.1 -p 11112 --daemonize >/dev/null 2>&1 &&
		sleep 0.5 || return 1
	echo "# net tput dev=loopback MBps=$(iperf3 -J -t $SECS -p 5202 -c 127.0.0.1 |
		awk '/"sum_received"/ { f = 1 } f && /"bits_per_second"/ { printf "%.1f\n", $2 / 8e6; exit }')"
	set -- $(rtt 127.0.0.1 11112)
	echo "# net rtt dev=loopback size=64 p50_us=$1 p99_us=$2"
	popcornctl ping "$peer" -c 2000 -s 64 -o json > /tmp/ping.json || return 1
	echo "# net rtt dev=popcorn_msg size=64" \
		"p50_us=$(sed -n 's/.*"p50_us": \([0-9.]*\).*/\1/p' /tmp/ping.json | head -n 1)" \
		"p99_us=$(sed -n 's/.*"p99_us": \([0-9.]*\).*/\1/p' /tmp/ping.json | head -n 1)"
}

peer_guest=$((1 - POPCORN_GUEST))
ktap_plan 5
ktap_check "nodes up, sb0 up" setup
ktap_check "MTU 1500" set_mtus 1500 1500
if [ "$POPCORN_GUEST" = 1 ]; then
	serve
	barrier 1
	barrier 2
	ktap_check "largest MTU" set_mtus $VIRTIO_MAX $SB_MAX
	barrier 3
	barrier 4
	barrier 5
	ktap_check "busy polling, MTU 1500" busy_setup
	serve_rtt 11113
	barrier 6
	barrier 7
	ktap_ok "guest 0 measured"
else
	barrier 1
	measure 1500 1500 1500
	barrier 2
	ktap_check "largest MTU" set_mtus $VIRTIO_MAX $SB_MAX
	barrier 3
	measure max $VIRTIO_MAX $SB_MAX
	barrier 4
	ktap_check "ceilings: loopback, messaging" ceilings
	barrier 5
	ktap_check "busy polling, MTU 1500" busy_setup
	barrier 6
	measure_busy
	barrier 7
fi
ktap_finish
