#!/bin/sh
# Messaging between every pair of kernels over the shm transport: nodes
# come up, echoes of every size come back byte for byte (the kernel checks
# them), a bench loses nothing, and the counters add up.
. ./lib.sh

N=$POPCORN_GUESTS
SIZES="0 1 63 64 4095 65536 1048576"

# Our node id is our peer id on the window, so endpoints are node ids.
configure() {
	SHM_DEV=$(shm_dev)
	self=$(cat "$SHM_DEV/popcorn/peer_id")
	popcornctl node add "$self" --self || return 1
	p=0
	while [ $p -lt "$N" ]; do
		if [ $p -ne "$self" ]; then
			popcornctl node add $p --transport shm --endpoint $p || return 1
		fi
		p=$((p + 1))
	done
}

all_up() {
	[ "$(popcornctl node list | grep -c ' up ')" -eq "$N" ]
}

ping_sizes() {
	for size in $SIZES; do
		p=0
		while [ $p -lt "$N" ]; do
			if [ $p -ne "$self" ]; then
				popcornctl ping $p -c 3 -s "$size" --timeout 10s >/dev/null || {
					echo "# ping node $p size $size failed"
					return 1
				}
			fi
			p=$((p + 1))
		done
	done
}

bench_peers() {
	p=0
	while [ $p -lt "$N" ]; do
		if [ $p -ne "$self" ]; then
			popcornctl bench $p --size 65536 --count 50 || return 1
		fi
		p=$((p + 1))
	done
}

no_errors() {
	popcornctl stats
	[ "$(popcornctl stats -o json | grep -c '"errors": [1-9]')" -eq 0 ]
}

# Wait until every peer finished before tearing our side down.
wait_done() {
	echo done > /tmp/done
	sleep 3
}

ktap_plan 7
ktap_check "insmod popcorn_msg popcorn_shm" pcn_insmod
ktap_check "configure self and $((N - 1)) peers" configure
ktap_check "all $N nodes up" busywait 30000 all_up
popcornctl node list
ktap_check "echo sizes $SIZES to every peer" ping_sizes
ktap_check "bench 50 x 64 KiB to every peer" bench_peers
ktap_check "no errors counted" no_errors
wait_done
ktap_check "rmmod popcorn_shm popcorn_msg" pcn_rmmod
ktap_finish
