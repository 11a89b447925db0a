#!/bin/bash
# The client of make bench-angel (bench_angel.sh), in the rig's network
# namespace: a closed loop of CLIENTS clients, each request a new
# connection to the service address, for each mode with and without
# guest 2 loaded. Prints one line per figure, then the ratios.
#
# Guest 2 is loaded by a CPU hog inside it. Under emulation a busy guest
# also takes a host core from the others, which a kernel owning its own
# cores would not: for skew=1 guest 2's QEMU is also capped at SLOW_PCT
# percent of a host core (a cpu cgroup), so that the hog slows guest 2
# alone.
set -u
CTL=http://10.99.0.2:8080/cgi-bin
CLIENTS=${CLIENTS:-32}
SECS=${SECS:-10s}
# Long enough for the policy to act on a kernel made slow (a report late
# by a second, then 16 buckets a period): every mode waits as long.
WARMUP=${WARMUP:-8s}
SLOW_PCT=${SLOW_PCT:-25}
load=${POPCORN_BUILD:-../../build}/guest/angel-load
qemu2=$(pgrep -f "${POPCORN_RIG_CTL%/ctl}/results-2.ktap" | head -n 1)
trap 'unslow; echo done > /dev/tcp/10.99.0.2/9999' EXIT

# slow: guest 2's QEMU into a cpu cgroup capped at SLOW_PCT% (v2 or v1).
# ip netns exec gave this script a /sys of its own, without cgroups: the
# cgroups are reached in the mount namespace of the rig (our parent).
cg=
in_rig() {
	nsenter -t $PPID -m -- sh -c "$1"
}

slow() {
	if in_rig "test -f /sys/fs/cgroup/cgroup.controllers"; then
		cg=/sys/fs/cgroup/popcorn-bench-$$
		in_rig "echo +cpu > /sys/fs/cgroup/cgroup.subtree_control && mkdir $cg &&
			echo '$((SLOW_PCT * 1000)) 100000' > $cg/cpu.max"
	else
		cg=/sys/fs/cgroup/cpu/popcorn-bench-$$
		in_rig "mkdir $cg && echo 100000 > $cg/cpu.cfs_period_us &&
			echo $((SLOW_PCT * 1000)) > $cg/cpu.cfs_quota_us"
	fi && in_rig "echo $qemu2 > $cg/cgroup.procs" && echo "# guest 2 capped at $SLOW_PCT% of a host core"
}

unslow() {
	[ -n "$cg" ] || return 0
	in_rig "echo $qemu2 > $(dirname "$cg")/cgroup.procs; rmdir $cg"
	cg=
}

ctl() {
	curl -sS --max-time 120 "$CTL/$1" | sed 's/^/# /'
}

# measure MODE SKEW: one line, also kept for the ratios.
measure() {
	local line
	line=$("$load" bench -url http://10.99.0.100/ -clients "$CLIENTS" -duration "$SECS" \
		-warmup "$WARMUP" -label "angel mode=$1 skew=$2")
	echo "$line"
	eval "rate_$1_$2=$(echo "$line" | sed -n 's/.*conn_rate=\([0-9.]*\).*/\1/p')"
	eval "p99_$1_$2=$(echo "$line" | sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p')"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'
}

# Until guest 0's control server answers.
for _ in $(seq 120); do
	curl -s --max-time 2 "$CTL/hog?off" >/dev/null && break
	sleep 1
done
for skew in 0 1; do
	if [ $skew = 1 ]; then
		ctl "hog?on"
		slow || echo "# guest 2 could not be capped: the hog slows every guest"
	else
		ctl "hog?off"
	fi
	for mode in angel hash; do
		ctl "mode?$mode"
		measure $mode $skew
	done
done
ctl "mode?single"
measure single 1
echo "angel ratio_angel_over_hash skew=1 conn_rate=$(ratio "$rate_angel_1" "$rate_hash_1") p99=$(ratio "$p99_angel_1" "$p99_hash_1")"
echo "angel ratio_angel_over_hash skew=0 conn_rate=$(ratio "$rate_angel_0" "$rate_hash_0") p99=$(ratio "$p99_angel_0" "$p99_hash_0")"
echo "angel ratio_angel_over_single conn_rate=$(ratio "$rate_angel_1" "$rate_single_1")"
