# One service address (Documentation/snapbean.rst), sourced by guest
# scripts after lib.sh: 10.99.0.100 on every kernel's lo with an HTTP
# server (saying which guest answered) and an iperf3 server on it; guest
# 0 owns the NIC into the rig's namespace and steers the service's frames
# with ebpf/steer.bpf.c: source port 61001 to itself, 61000 to the highest
# other node, any other port to the lowest other node, through Snap Bean;
# replies come back over sb0 to the owner's gateway address (10.97.0.254)
# and leave through its NIC. A client in the rig's namespace tells guest
# 0 on port 9999 when it is done.

SVC=10.99.0.100
GW=10.97.0.254
PIN=/sys/fs/bpf/steer

# pcn_conf NODE...: /etc/popcorn/popcorn.yaml for a machine of these
# nodes, each by its peer id on the window, node 0 the NIC owner serving
# $SVC to the rig's namespace, $GW its gateway on sb0. With ANGEL_NIC,
# Angel balances port 80 there (Documentation/angel.rst).
POPCORN_CONF=/etc/popcorn/popcorn.yaml
pcn_conf() {
	mkdir -p /etc/popcorn
	{
		echo "version: 1"
		echo "self: {from_window: true}"
		echo "nodes:"
		for n in "$@"; do
			echo "  - {id: $n, name: guest$n, shm: {peer: $n}}"
		done
		echo "service: {address: $SVC, owner: 0, ${ANGEL_NIC:+nic: $ANGEL_NIC, port: 80, }clients: [10.99.0.0/24]}"
		echo "snapbean: {subnet: 10.97.0.0/24, gateway: $GW}"
		echo
	} > $POPCORN_CONF
}

# sb0 addresses follow the node id: node N is 10.97.0.N+1.
sb_up() {
	sb_setup "10.97.0.$((self + 1))/24"
}

# Every kernel: the service address, and servers on it. Where popcornd
# keeps the kernel in line with a file (SERVICE_BY_POPCORND), it has put
# the address, the owner's gateway, the others' routes and the sysctls in
# place already.
serve() {
	[ -n "${SERVICE_BY_POPCORND:-}" ] || ip addr add "$SVC/32" dev lo || return 1
	mkdir -p /tmp/www && echo "served by guest $POPCORN_GUEST" > /tmp/www/index.html
	busybox httpd -p "$SVC:80" -h /tmp/www && iperf3 -s -D -B "$SVC"
}

# A kernel without the NIC: replies to clients go to the owner over sb0,
# and its ARP on sb0 speaks for its sb0 address, not the service's.
route_via_owner() {
	if [ -n "${SERVICE_BY_POPCORND:-}" ]; then
		ip route show proto 77 | grep -q "^10.99.0.0/24 via $GW dev sb0"
		return
	fi
	sysctl -qw net.ipv4.conf.sb0.arp_announce=2 &&
		ip route add 10.99.0.0/24 via $GW dev sb0
}

nic_name() {
	for d in /sys/class/net/*; do
		[ "$(cat "$d/address")" = 52:54:00:00:02:00 ] && echo "${d##*/}"
	done
}

# le32 N: the four bytes of N, little endian, for bpftool.
le32() {
	echo "$(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24))"
}

# port_to PORT NODE: frames from source port PORT go to kernel NODE.
port_to() {
	bpftool map update pinned $PIN/steer_ports key $(($1 & 255)) $(($1 >> 8)) \
		value $(le32 "$2")
}

# The other nodes, lowest first.
others() {
	p=0
	while [ $p -lt "$POPCORN_GUESTS" ]; do
		[ $p -ne "$self" ] && echo $p
		p=$((p + 1))
	done
}

gateway() {
	ip addr add $GW/24 dev sb0 &&
		sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.sb0.accept_local=1 \
			net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.sb0.rp_filter=0
}

# The owner: the others' gateway; forwards what they answer (their source
# is the service address, one of its own), and steers the service's
# frames.
steer() {
	nic=$(nic_name)
	mkdir -p $PIN
	first=$(others | head -n 1)
	last=$(others | tail -n 1)
	[ -n "${SERVICE_BY_POPCORND:-}" ] || gateway || return 1
	bpftool prog load /bin/steer.bpf.o $PIN/prog type xdp pinmaps $PIN || return 1
	sbif=$(cat /sys/class/net/sb0/ifindex)
	bpftool map update pinned $PIN/steer_cfg key 0 0 0 0 \
		value 10 99 0 100 $(le32 "$sbif") $(le32 "$self") $(le32 "$first") &&
		port_to 61000 "$last" && port_to 61001 "$self" &&
		bpftool net attach xdpdrv pinned $PIN/prog dev "$nic"
}

unsteer() {
	bpftool net detach xdpdrv dev "$(nic_name)" && rm -r $PIN
}

host_done() {
	busybox nc -l -p 9999 > /tmp/host_done
	echo "# the client says: $(cat /tmp/host_done)"
}

# service_run: the owner steers until the client is done (four checks);
# the others route their replies through it meanwhile (one check).
service_run() {
	if [ "$POPCORN_GUEST" = 0 ]; then
		ktap_check "every other kernel serves $SVC too" every_peer barrier 1
		ktap_check "steer $SVC from the NIC to the other kernels (XDP)" steer
		ktap_check "the client in the host's namespace is done" host_done
		every_peer barrier 2
		ktap_check "XDP program detached" unsteer
	else
		ktap_check "replies routed through the owner" route_via_owner
		every_peer barrier 1
		every_peer barrier 2
	fi
}

# Angel (ANGEL_NIC): the owner's popcornd steers.

# angel_buckets NODE: how many of the table's buckets name NODE.
angel_buckets() {
	popcornctl angel status 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }'
}

angel_steering() {
	! popcornctl angel status 2>/dev/null | grep -q "does not steer" &&
		[ -n "$(angel_buckets 0)" ]
}

# angel_hog: a busy loop per CPU; its pids in $hog.
angel_hog() {
	hog=
	for _ in $(seq "$(grep -c '^processor' /proc/cpuinfo)"); do
		sh -c 'while :; do :; done' &
		hog="$hog $!"
	done
}
