#!/bin/sh
# insmod and rmmod of every module in random order, many cycles, with
# nodes configured and traffic flowing: guest 0 loads and unloads
# popcorn_msg, popcorn_shm, popcorn_tcp and snapbean in a random order
# each cycle (an insmod without the core, or an rmmod under a dependent,
# must fail cleanly), configuring its node and sb0 whenever it can, while
# guest 1 keeps its modules and sends it echoes and pings over sb0, each
# of which must end within its timeout. Then everything loads, node and
# sb0 work both ways, and everything unloads: no module reference is
# left behind. CYCLES: 50, and 10 on the debug kernel; modcycle_long.sh
# (make test-long) runs 100.
. ./lib.sh
case $(uname -r) in
*debug*) CYCLES=${CYCLES:-10} ;;
*) CYCLES=${CYCLES:-50} ;;
esac
MODS="popcorn_msg popcorn_shm popcorn_tcp snapbean"
PEER_SB=10.97.0.2

mod_file() {
	case $1 in
	popcorn_msg) echo "$MSG_MOD" ;;
	popcorn_shm) echo "$SHM_MOD" ;;
	popcorn_tcp) echo "$TCP_MOD" ;;
	snapbean) echo "$SB_MOD" ;;
	esac
}

# shuffled SEED: the modules in a random order.
shuffled() {
	echo $MODS | awk -v s="$1" '{ srand(s); for (i = NF; i > 1; i--) {
		j = int(rand() * i) + 1; t = $i; $i = $j; $j = t } print }'
}

# configure: whatever the loaded modules allow; failures are expected
# while a module is missing.
configure() {
	module_loaded popcorn_msg || return 0
	popcornctl node add 0 --self 2>/dev/null
	if module_loaded popcorn_shm; then
		popcornctl node add 1 --transport shm --endpoint 1 2>/dev/null
	elif module_loaded popcorn_tcp; then
		popcornctl node add 1 --transport tcp --endpoint 10.98.0.2 2>/dev/null
	fi
	if module_loaded snapbean && [ ! -e /sys/class/net/sb0 ]; then
		ip link add sb0 type snapbean 2>/dev/null &&
			ip addr add 10.97.0.1/24 dev sb0 && ip link set sb0 up
	fi
	return 0
}

# flip MODULE: unload it if loaded, else load it; a refusal is fine, a
# hang or a splat is not.
flip() {
	if module_loaded "$1"; then
		rmmod "$1" 2>/dev/null
	else
		insmod "$(mod_file "$1")" 2>/dev/null
	fi
	return 0
}

cycles() {
	c=1
	while [ $c -le "$CYCLES" ]; do
		for m in $(shuffled $c); do
			flip "$m"
			configure
		done
		c=$((c + 1))
	done
	echo "# $CYCLES cycles; loaded now: $(grep -o '^\(popcorn_[a-z]*\|snapbean\) ' /proc/modules | tr -d '\n')"
}

# load_all: every module, and node 1 over shm again (the cycles may have
# left it on tcp).
load_all() {
	for m in $MODS; do
		module_loaded "$m" || insmod "$(mod_file "$m")" || return 1
	done
	popcornctl node del 1 2>/dev/null
	configure
}

unload_all() {
	ip link del sb0 2>/dev/null
	for m in snapbean popcorn_tcp popcorn_shm popcorn_msg; do
		! module_loaded "$m" || rmmod "$m" || return 1
	done
	! grep -q '^\(popcorn_[a-z]*\|snapbean\) ' /proc/modules
}

setup_peer() {
	pcn_setup && sb_setup $PEER_SB/24
}

# Guest 1: echoes and pings to guest 0 until /tmp/stop; one that takes
# over 10 s is a hang.
traffic() {
	while [ ! -e /tmp/stop ]; do
		t0=$(date +%s)
		popcornctl ping 0 -c 3 -s 4096 --timeout 2s >/dev/null 2>&1
		ping -c 1 -W 1 10.97.0.1 >/dev/null 2>&1
		[ $(($(date +%s) - t0)) -le 10 ] || echo slow >> /tmp/slow
	done
}

sb0_answers() {
	ping -c 1 -W 5 "$1" >/dev/null
}

if [ "$POPCORN_GUEST" = 0 ]; then
	ktap_plan 5
	ktap_check "load and configure" load_all
	ktap_check "node 1 up" busywait 30000 all_up
	barrier 1 1
	ktap_check "$CYCLES cycles of insmod and rmmod in random order" cycles
	load_all
	ktap_check "node 1 and sb0 answer after the cycles" sh -c \
		". ./lib.sh; busywait 60000 all_up && popcornctl ping 1 -c 3 -s 65536 --timeout 10s >/dev/null && ping -c 1 -W 5 $PEER_SB >/dev/null"
	barrier 2 1
	barrier 3 1
	ktap_check "unload everything, no reference left" unload_all
else
	ktap_plan 5
	ktap_check "load and configure" setup_peer
	ktap_check "node 0 up" busywait 30000 all_up
	rm -f /tmp/stop /tmp/slow
	traffic &
	barrier 1 0
	# Guest 0 cycles; our traffic meets whatever it has loaded.
	busywait 600000 sh -c ". ./lib.sh; barrier 2 0"
	touch /tmp/stop
	wait
	ktap_check "no echo or ping hung" test ! -e /tmp/slow
	ktap_check "node 0 and sb0 answer" sh -c \
		". ./lib.sh; busywait 60000 all_up && popcornctl ping 0 -c 3 -s 65536 --timeout 10s >/dev/null && ping -c 1 -W 5 10.97.0.1 >/dev/null"
	barrier 3 0
	ktap_check "unload everything, no reference left" unload_all
fi
ktap_finish
