#!/bin/sh
# Every CPU of every kernel sends at once: a ping of mixed sizes and a
# bench per CPU to the peer, all checked, none lost.
. ./lib.sh

NCPU=$(grep -c ^processor /proc/cpuinfo)

all_cpus() {
	pids=""
	c=0
	while [ $c -lt "$NCPU" ]; do
		taskset -c $c popcornctl ping "$peer" -c 100 -s $((c * 1000 + 63)) --timeout 10s >/tmp/ping.$c 2>&1 &
		pids="$pids $!"
		taskset -c $c popcornctl bench "$peer" --count 200 --size 4096 >/tmp/bench.$c 2>&1 &
		pids="$pids $!"
		c=$((c + 1))
	done
	rc=0
	for p in $pids; do
		wait "$p" || rc=1
	done
	cat /tmp/ping.* /tmp/bench.* | sed 's/^/# /'
	return $rc
}

no_errors() {
	! popcornctl stats -o json | grep -q '"errors": [1-9]'
}

ktap_plan 5
ktap_check "setup" pcn_setup
ktap_check "peer up" busywait 30000 peer_up
ktap_check "$NCPU CPUs ping and bench at once" all_cpus
ktap_check "no errors counted" no_errors
barrier 1
ktap_check "rmmod popcorn_shm popcorn_msg" pcn_rmmod
ktap_finish
