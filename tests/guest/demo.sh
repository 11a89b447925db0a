#!/bin/sh
# make demo: the kernels configure each other as nodes with popcornctl,
# then every kernel pings and benches every other over shared memory.
. ./lib.sh

N=$POPCORN_GUESTS

show() {
	echo "\$ popcornctl $*"
	popcornctl "$@"
}

ping_peer() {
	show ping "$1" -c 100 -s 64
}

bench_peer() {
	show bench "$1" --size 65536 --count 500
}

ktap_plan 5
ktap_check "configure nodes" pcn_setup
echo "# $(uname -r), this kernel is node $self of $N"
ktap_check "all $N nodes up" busywait 30000 all_up
show node list
ktap_check "ping every peer" every_peer ping_peer
ktap_check "bench every peer" every_peer bench_peer
show stats
sleep 3
ktap_check "unload" pcn_rmmod
ktap_finish
