#!/bin/sh
# Angel end to end (Documentation/angel.rst): three kernels run popcornd on
# one file whose service names guest 0's NIC and port 80, and serve the
# service with angel-load, which answers with the kernel's number. Guest 0's
# popcornd steers new connections from its NIC over the kernels by the
# bucket table and pins each flow; every popcornd reports its kernel's load.
# The client in the rig's namespace (angel.host.sh) sees every kernel
# serve, holds connections open, then asks guest 0 ("load") to load
# guest 2 with a CPU hog: guest 2's buckets must move away, its share of
# new connections fall, and the held connections stay where they are.
. ./lib.sh
. ./service.sh
SERVICE_BY_POPCORND=1
ANGEL_NIC=eth0

# The file of service.sh's pcn_conf, with Angel steering port 80 on the
# NIC. The owner forwards every packet of the others' connections, which
# under emulation keeps its CPU the busiest: it holds its buckets
# (popcornctl angel set), and the policy balances the others.
start() {
	pcn_insmod && insmod "$SB_MOD" || return 1
	self=$(cat "$(shm_dev)/popcorn/peer_id")
	if [ "$self" = 0 ]; then
		popcornctl angel set 0 --mode hold || return 1
	fi
	pcn_conf $(pcn_nodes)
	popcornctl config check $POPCORN_CONF || return 1
	popcornd -config $POPCORN_CONF -listen :9464 >/tmp/popcornd.log 2>&1 &
	popcornd=$!
}

ready() {
	all_up && carrier_on && ip addr show dev lo | grep -q "$SVC/32"
}

serve_angel() {
	angel-load serve -addr "$SVC:80" -id "$self" &
	server=$!
}

# host_says WORD: the client in the rig's namespace said WORD on port 9999.
host_says() {
	busybox nc -l -p 9999 > /tmp/host_said
	echo "# the client says: $(cat /tmp/host_said)"
	grep -q "$1" /tmp/host_said
}

show_status() {
	echo "\$ popcornctl angel status"
	popcornctl angel status | sed 's/^/# /'
	grep "bucket moved" /tmp/popcornd.log | tail -n 3 | sed 's/^/# /'
	wget -q -O - http://127.0.0.1:9464/metrics | grep '^popcorn_angel_\(buckets\|new_flows_total\|bucket_moves_total\)' | sed 's/^/# /'
}

# Once popcornd is gone the program stays on the NIC (its link is
# pinned); removing the pins takes it off.
unsteer() {
	ip link show eth0 | grep -q "xdp" && rm -r /sys/fs/bpf/popcorn &&
		busywait 5000 sh -c '! ip link show eth0 | grep -q xdp'
}

stop() {
	kill "$server" && kill -TERM "$popcornd" && wait "$popcornd"
}

unload() {
	rmmod snapbean && pcn_rmmod
}

case $POPCORN_GUEST in
0) ktap_plan 10 ;;
2) ktap_plan 6 ;;
*) ktap_plan 5 ;;
esac
ktap_check "insmod, popcornd with Angel on eth0:80" start
ktap_check "all nodes up, the service address in place" busywait 60000 ready
ktap_check "serving $SVC:80" serve_angel
every_peer barrier 1
if [ "$POPCORN_GUEST" = 0 ]; then
	ktap_check "Angel steers the service on eth0" busywait 30000 angel_steering
	show_status
	ktap_check "the client has seen every kernel serve and holds connections" host_says load
	ktap_check "guest 2 told to load itself" barrier 2 2
	ktap_check "the client is done" host_says done
	show_status
	every_peer barrier 3
elif [ "$POPCORN_GUEST" = 2 ]; then
	barrier 2 0
	ktap_check "loaded with a CPU hog" angel_hog
	barrier 3 0
	kill $hog
else
	barrier 3 0
fi
ktap_check "server and popcornd stopped" stop
if [ "$POPCORN_GUEST" = 0 ]; then
	ktap_check "the program stays on the NIC without popcornd, and goes with its pins" unsteer
fi
ktap_check "unload" unload
ktap_finish
