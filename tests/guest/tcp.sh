#!/bin/sh
# The tcp transport's own cases, with two kernels reaching each other over
# virtio-net: endpoints the kernel refuses, strangers and a broken peer on
# guest 0's port (tcp.host.sh) while node 1 keeps working, and the
# transport unloaded under traffic on guest 1 and loaded again.
. ./lib.sh
. ./service.sh
PCN_TRANSPORT=tcp
TCP_DBG=/sys/kernel/debug/popcorn_tcp

# add_fails WANT ARGS...: node add refused with the message WANT.
add_fails() {
	want=$1
	shift
	out=$(popcornctl node add "$@" 2>&1) && { echo "# added: $*"; return 1; }
	echo "$out" | grep -q "$want" && return 0
	echo "# $out"
	return 1
}

endpoints() {
	add_fails "tcp endpoint is ADDRESS" 5 --transport tcp --endpoint nonsense &&
		add_fails "tcp endpoint is ADDRESS" 5 --transport tcp --endpoint 10.98.0.9:0 &&
		add_fails "tcp endpoint is ADDRESS" 5 --transport tcp --endpoint 10.98.0.9:70000 &&
		add_fails "tcp endpoint is ADDRESS" 5 --transport tcp --endpoint "[::1" &&
		add_fails "another node already has this tcp endpoint" 5 --transport tcp --endpoint 10.98.0.2:7373 &&
		add_fails "already exists" 1 --transport tcp --endpoint 10.98.0.9 &&
		add_fails "" 64 --transport tcp --endpoint 10.98.0.9
}

stat_at_least() {
	got=$(sed -n "s/^$1 //p" $TCP_DBG/stats)
	[ "$got" -ge "$2" ] && return 0
	echo "# $1: $got, want at least $2"
	return 1
}

counted() {
	sed 's/^/# /' $TCP_DBG/stats
	stat_at_least refused 8 && stat_at_least bad_frames 2
}

# traffic: echoes to node 1 until the file /tmp/stop exists.
traffic() {
	while [ ! -e /tmp/stop ]; do
		popcornctl ping 1 -c 20 -s 4095 --timeout 5s >/dev/null || echo fail >> /tmp/traffic.err
	done
}

now_ms() {
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

peer_down() {
	! popcornctl node list | grep -q "^1  *up "
}

ktap_plan 10
ktap_check "insmod, configure self and peer over tcp" pcn_setup
ktap_check "both nodes up" busywait 30000 all_up
if [ "$POPCORN_GUEST" = 0 ]; then
	ktap_check "bad endpoints refused, each with a clear error" endpoints
	popcornctl node add 3 --transport tcp --endpoint 10.99.0.1:7373
	rm -f /tmp/stop /tmp/traffic.err
	traffic &
	ktap_check "the stranger in the host's namespace is done" host_done
	touch /tmp/stop
	wait
	ktap_check "every stranger and bad frame counted" counted
	ktap_check "node 1 served every echo meanwhile" test ! -e /tmp/traffic.err
	popcornctl node del 3
	# Guest 1 unloads popcorn_tcp half a second after the barrier, under
	# our echoes, which fail meanwhile and never hang.
	rm -f /tmp/stop
	traffic &
	barrier 1
	start=$(now_ms)
	ktap_check "node 1 down when its transport goes" busywait 5000 peer_down
	echo "# node 1 down $(($(now_ms) - start)) ms after the barrier"
	ktap_check "node 1 back when its transport does" busywait 30000 all_up
	touch /tmp/stop
	wait
	ktap_check "echoes again" popcornctl ping 1 -c 3 -s 65536 --timeout 10s
else
	for i in 3 4 5 6 7; do ktap_ok "guest 0's case $i"; done
	barrier 1 0
	sleep 0.5
	rmmod popcorn_tcp
	sleep 1
	insmod "$TCP_MOD"
	popcornctl node add 0 --transport tcp --endpoint "$(pcn_endpoint 0)"
	ktap_check "node 0 back after the reload" busywait 30000 all_up
	ktap_ok "guest 0's case 9"
fi
barrier 2
ktap_check "rmmod" pcn_rmmod
ktap_finish
