# Shared by the guest tests: KTAP output and helpers for popcorn_shm.
# Tests run in a rig guest (tests/vm) with POPCORN_GUEST, POPCORN_GUESTS,
# POPCORN_SHM_SIZE, POPCORN_VECTORS and POPCORN_DEAD_MS from the kernel
# command line.

KTAP_N=0
KTAP_FAIL=0

ktap_plan() {
	echo "KTAP version 1"
	echo "1..$1"
}

ktap_ok() {
	KTAP_N=$((KTAP_N + 1))
	echo "ok $KTAP_N $*"
}

ktap_not_ok() {
	KTAP_N=$((KTAP_N + 1))
	KTAP_FAIL=$((KTAP_FAIL + 1))
	echo "not ok $KTAP_N $*"
}

# ktap_check DESCRIPTION COMMAND...: one result from a command's status.
ktap_check() {
	desc=$1
	shift
	if "$@"; then
		ktap_ok "$desc"
	else
		ktap_not_ok "$desc"
	fi
}

ktap_finish() {
	echo "# Totals: pass:$((KTAP_N - KTAP_FAIL)) fail:$KTAP_FAIL"
	[ "$KTAP_FAIL" -eq 0 ]
	exit $?
}

# busywait TIMEOUT_MS COMMAND...: poll until the command succeeds.
busywait() {
	left=$1
	shift
	while ! "$@"; do
		[ "$left" -le 0 ] && return 1
		sleep 0.05
		left=$((left - 50))
	done
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] && return 0
	echo "# $1: got '$2', want '$3'"
	return 1
}

# Debian's ip, not busybox's applet of that name, which busybox's sh
# would run before looking at PATH.
ip() {
	/usr/sbin/ip "$@"
}

MSG_MOD=/lib/popcorn/popcorn_msg.ko
SHM_MOD=/lib/popcorn/popcorn_shm.ko
SB_MOD=/lib/popcorn/snapbean.ko
TCP_MOD=/lib/popcorn/popcorn_tcp.ko

# The transport the messaging suites add their nodes with: shm, or tcp
# over the rig's virtio-net link (--net).
PCN_TRANSPORT=${PCN_TRANSPORT:-shm}

# sb_setup ADDR/PREFIX: load snapbean and bring sb0 up with ADDR.
sb_setup() {
	insmod "$SB_MOD" && ip link add sb0 type snapbean &&
		ip addr add "$1" dev sb0 && ip link set sb0 up
}

# sb_stat NAME: one of sb0's ethtool counters.
sb_stat() {
	ethtool -S sb0 | sed -n "s/^ *$1: //p"
}

carrier_on() {
	[ "$(cat /sys/class/net/sb0/carrier)" = 1 ]
}

# pcn_nodes: every guest's node id (its peer id: the rig seats guest i
# as peer i).
pcn_nodes() {
	seq 0 $((POPCORN_GUESTS - 1))
}

# pcn_insmod / pcn_rmmod: the core, then the shm transport (and the tcp
# one for PCN_TRANSPORT=tcp); and back. POPCORN_DEAD_MS (the rig's, on
# slow kernels) sets the core's dead_ms.
pcn_insmod() {
	{ module_loaded popcorn_msg ||
		insmod "$MSG_MOD" ${POPCORN_DEAD_MS:+dead_ms=$POPCORN_DEAD_MS}; } &&
		{ module_loaded popcorn_shm || insmod "$SHM_MOD"; } &&
		{ [ "$PCN_TRANSPORT" != tcp ] || module_loaded popcorn_tcp || insmod "$TCP_MOD"; }
}

pcn_rmmod() {
	{ ! module_loaded popcorn_tcp || rmmod popcorn_tcp; } &&
		rmmod popcorn_shm && rmmod popcorn_msg
}

# pcn_endpoint NODE: how PCN_TRANSPORT reaches the guest of that id.
pcn_endpoint() {
	if [ "$PCN_TRANSPORT" = tcp ]; then
		echo "10.98.0.$(($1 + 1))"
	else
		echo "$1"
	fi
}

# rmmod_live MODULE: unload a module that a running daemon talks to. A
# netlink dump in flight holds the module for its length, and rmmod then
# fails with EAGAIN; a reference that outlives 5 s is a leak.
rmmod_live() {
	busywait 5000 rmmod_gone "$1"
}

rmmod_gone() {
	! module_loaded "$1" || rmmod "$1" 2>/dev/null
}

# shm_dev: the sysfs directory of the ivshmem PCI device, if any.
shm_dev() {
	for d in /sys/bus/pci/devices/*; do
		if [ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x1110 ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# shm_irqs VECTOR: interrupts counted on one of our doorbell vectors.
shm_irqs() {
	cut -d' ' -f$(($1 + 1)) "$SHM_DEV/popcorn/interrupts"
}

# shm_ring PEER VECTOR
shm_ring() {
	echo "$1 $2" > "/sys/kernel/debug/popcorn_shm/${SHM_DEV##*/}/ring"
}

module_loaded() {
	grep -q "^$1 " /proc/modules
}

# pcn_setup: load the modules, name this kernel by its peer id on the
# window and add every other guest the same way, over PCN_TRANSPORT. Sets SHM_DEV, self, and
# peer (the other guest, in two-guest tests).
pcn_setup() {
	pcn_insmod || return 1
	SHM_DEV=$(shm_dev)
	self=$(cat "$SHM_DEV/popcorn/peer_id")
	peer=$((self == 0 ? 1 : 0))
	popcornctl node add "$self" --self || return 1
	p=0
	while [ $p -lt "$POPCORN_GUESTS" ]; do
		if [ $p -ne "$self" ]; then
			popcornctl node add $p --transport "$PCN_TRANSPORT" \
				--endpoint "$(pcn_endpoint $p)" || return 1
		fi
		p=$((p + 1))
	done
}

peer_up() {
	popcornctl node list | grep -q "^$peer  *up "
}

all_up() {
	[ "$(popcornctl node list | grep -c ' up ')" -eq "$POPCORN_GUESTS" ]
}

# every_peer COMMAND...: run COMMAND PEER for every other guest.
every_peer() {
	p=0
	while [ $p -lt "$POPCORN_GUESTS" ]; do
		if [ $p -ne "$self" ]; then
			"$@" $p || return 1
		fi
		p=$((p + 1))
	done
}

# Test knobs of the debug variant of popcorn_msg.
MSG_DBG=/sys/kernel/debug/popcorn_msg

# barrier STEP [NODE]: wait until NODE (default: the peer) reached STEP
# too; both kernels' word crosses the messaging layer itself. One try
# waits a minute; a slow kernel (the debug one) gets five.
barrier() {
	tries=5
	until echo "${2:-$peer} $1" > "$MSG_DBG/barrier"; do
		tries=$((tries - 1))
		[ $tries -gt 0 ] || return 1
	done
}

# node_stat NODE FIELD: one counter of popcornctl stats -o json.
node_stat() {
	popcornctl stats -o json | tr -d ' \n' | tr '{' '\n' | grep "\"id\":$1," |
		sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}

# backlog FIELD [NODE]: a column of popcorn_msg/backlog for NODE (default: the peer).
backlog() {
	awk -v n="${2:-$peer}" -v f="$1" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i }
		NR > 1 && $1 == n { print $col[f] }' "$MSG_DBG/backlog"
}

mem_available_kb() {
	sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo
}
