#!/bin/sh
# Messaging between every pair of kernels over PCN_TRANSPORT: nodes
# come up, echoes of every size come back byte for byte (the kernel checks
# them), a bench loses nothing, and the counters add up.
. ./lib.sh

N=$POPCORN_GUESTS
SIZES="0 1 63 64 4095 65536 1048576"

ping_size() {
	popcornctl ping "$1" -c 3 -s "$size" --timeout 10s >/dev/null && return 0
	echo "# ping node $1 size $size failed"
	return 1
}

ping_sizes() {
	for size in $SIZES; do
		every_peer ping_size || return 1
	done
}

bench_peer() {
	popcornctl bench "$1" --size 65536 --count 50
}

no_errors() {
	popcornctl stats
	[ "$(popcornctl stats -o json | grep -c '"errors": [1-9]')" -eq 0 ]
}

# Wait until every peer finished before tearing our side down.
wait_done() {
	every_peer barrier 1
}

ktap_plan 7
ktap_check "insmod popcorn_msg, transport $PCN_TRANSPORT" pcn_insmod
ktap_check "configure self and $((N - 1)) peers" pcn_setup
ktap_check "all $N nodes up" busywait 30000 all_up
popcornctl node list
ktap_check "echo sizes $SIZES to every peer" ping_sizes
ktap_check "bench 50 x 64 KiB to every peer" every_peer bench_peer
ktap_check "no errors counted" no_errors
wait_done
ktap_check "rmmod the transports and popcorn_msg" pcn_rmmod
ktap_finish
