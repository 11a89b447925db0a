#!/bin/sh
# make bench-msg, in two guests: guest 0 measures, guest 1 answers.
# Prints "# msg ..." lines, one per figure per run:
#   the floor (user processes ping-ponging through BAR2, no kernel code),
#   a raw doorbell round trip (IRQ to IRQ, in the device layer) before
#   each doorbell-mode run,
#   kernel-to-kernel echo RPCs in three receive modes, and throughput;
#   then the same echoes and throughput with the node reached over the
#   tcp transport (virtio-net between the same guests).
# Guest 0 moves guest 1 through the modes by ringing its vector 2.
. ./lib.sh

RUNS=3
TRANSPORT=shm
PINGS=${POPCORN_PINGS:-2000}
SIGNAL_VECTOR=2
SHM_DEV=$(shm_dev)
PARAM=/sys/module/popcorn_shm/parameters/busy_poll_us

setup() {
	pcn_insmod || return 1
	# Answer raw doorbells before the peer can see us up.
	[ "$POPCORN_GUEST" = 0 ] || echo 0 > "$DBG/doorbell_echo" || return 1
	pcn_setup
}

# json_field NAME: a number from popcornctl's JSON on stdin.
json_field() {
	sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p" | head -n 1
}

# rtt_run MODE SIZE RUN [PING FLAGS]: one run of echo RPCs.
rtt_run() {
	out=$(popcornctl ping "$peer" -c "$PINGS" -s $2 $4 -o json) || return 1
	echo "# msg rtt size=$2 transport=$TRANSPORT mode=$1 run=$3" \
		"p50_us=$(echo "$out" | json_field p50_us)" \
		"p99_us=$(echo "$out" | json_field p99_us)" | tee -a /tmp/figures
}

# raw_run RUN: one run of raw doorbell round trips.
raw_run() {
	out=$(echo "$peer $PINGS" > "$DBG/doorbell_rtt" && cat "$DBG/doorbell_rtt") || return 1
	p50=$(echo "$out" | sed 's/.*p50_ns=\([0-9]*\).*/\1/')
	p99=$(echo "$out" | sed 's/.*p99_ns=\([0-9]*\).*/\1/')
	echo "# doorbell rtt raw run=$1 p50_us=$((p50 / 1000)).$(((p50 % 1000) / 100)) p99_us=$((p99 / 1000)).$(((p99 % 1000) / 100))" |
		tee -a /tmp/figures
}

# measure_rtt MODE [PING FLAGS]: RUNS runs of each size; in doorbell
# mode each run follows a raw doorbell run, so both see the same host.
measure_rtt() {
	for size in 64 4096; do
		run=1
		while [ $run -le $RUNS ]; do
			if [ "$1" = doorbell ] && [ $size = 64 ]; then
				raw_run $run || return 1
			fi
			rtt_run "$1" $size $run "$2" || return 1
			run=$((run + 1))
		done
	done
}

# median_p50 PATTERN: the median over runs of p50_us on lines matching.
median_p50() {
	grep -- "$1" /tmp/figures | sed 's/.*p50_us=\([0-9.]*\).*/\1/' | sort -n |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# median_mbps PATTERN: the median over runs of MBps on lines matching.
median_mbps() {
	grep -- "$1" /tmp/figures | sed 's/.*MBps=\([0-9.]*\).*/\1/' | sort -n |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

ratios() {
	floor=$(median_p50 "rtt size=64 transport=floor")
	raw=$(median_p50 "doorbell rtt raw")
	poll=$(median_p50 "size=64 transport=shm mode=poll")
	bell=$(median_p50 "size=64 transport=shm mode=doorbell")
	awk -v f="$floor" -v r="$raw" -v p="$poll" -v b="$bell" 'BEGIN {
		printf "# msg ratio size=64 poll/floor=%.1f doorbell/raw_doorbell=%.2f\n", p / f, b / r }'
	floor=$(median_mbps "tput size=1048576 transport=floor")
	shm=$(median_mbps "tput size=1048576 transport=shm")
	awk -v f="$floor" -v s="$shm" 'BEGIN {
		printf "# msg tput ratio size=1048576 shm/floor=%.2f\n", s / f }'
}

tcp_ratios() {
	tcp=$(median_p50 "size=64 transport=tcp")
	for mode in poll doorbell; do
		shm=$(median_p50 "size=64 transport=shm mode=$mode")
		awk -v t="$tcp" -v s="$shm" -v m=$mode 'BEGIN {
			printf "# msg rtt size=64 mode=%s ratio_tcp_over_shm=%.1f\n", m, t / s }'
	done
	tcp=$(median_mbps "tput size=65536 transport=tcp")
	shm=$(median_mbps "tput size=65536 transport=shm")
	awk -v t="$tcp" -v s="$shm" 'BEGIN {
		printf "# msg tput size=65536 ratio_shm_over_tcp=%.2f\n", s / t }'
}

# over_tcp: this kernel's peer again, reached over tcp from now on.
over_tcp() {
	TRANSPORT=tcp PCN_TRANSPORT=tcp
	insmod "$TCP_MOD" && popcornctl node del "$peer" &&
		popcornctl node add "$peer" --transport tcp --endpoint "$(pcn_endpoint "$peer")" &&
		busywait 30000 peer_up
}

measure_tcp() {
	over_tcp || return 1
	for size in 64 4096; do
		run=1
		while [ $run -le $RUNS ]; do
			rtt_run sleep $size $run || return 1
			run=$((run + 1))
		done
	done
	measure_tput && tcp_ratios
}

measure_tput() {
	for spec in "65536 2000" "1048576 100"; do
		set -- $spec
		run=1
		while [ $run -le $RUNS ]; do
			out=$(popcornctl bench "$peer" --size "$1" --count "$2" -o json) || return 1
			mbps=$(echo "$out" | json_field MBps | awk '{ printf "%.1f", $1 }')
			echo "# msg tput size=$1 transport=$TRANSPORT run=$run MBps=$mbps" |
				tee -a /tmp/figures
			run=$((run + 1))
		done
	done
}

next_phase() {
	shm_ring "$peer" $SIGNAL_VECTOR
	sleep 1
}

measure() {
	# Phase 0, set by the peer at start: it busy-polls, we poll for replies.
	echo 0 > $PARAM
	measure_rtt poll --poll || return 1
	next_phase
	measure_rtt doorbell || return 1
	next_phase
	echo 200 > $PARAM
	measure_rtt adaptive || return 1
	echo 0 > $PARAM
	measure_tput || return 1
	next_phase
	ratios
}

# The peer's side: follow guest 0's phase signals.
answer() {
	echo "$peer" > "$DBG/doorbell_echo"
	phase=-1
	left=3000
	while [ $left -gt 0 ]; do
		p=$(shm_irqs $SIGNAL_VECTOR)
		if [ "$p" != "$phase" ]; then
			phase=$p
			case $phase in
			0) echo 1000000 > $PARAM ;;
			1) echo 0 > $PARAM ;;
			2) echo 200 > $PARAM ;;
			*) return 0 ;;
			esac
		fi
		sleep 0.2
		left=$((left - 1))
	done
	return 1
}

ktap_plan 5
echo "# guest $POPCORN_GUEST: $(uname -r), $(grep -c ^processor /proc/cpuinfo) vCPU"
if [ "$POPCORN_GUEST" = 0 ]; then
	floor=$(shm-floor ping "$SHM_DEV/resource2" 20000 $RUNS)
	echo "$floor" | sed 's/^/# msg rtt size=64 transport=floor /' | tee /tmp/figures
	tput=$(shm-floor send "$SHM_DEV/resource2" 1048576 100 $RUNS)
	echo "$tput" | sed 's/^/# msg tput size=1048576 transport=floor /' | tee -a /tmp/figures
	ktap_check "floor measured" test -n "$floor" -a -n "$tput"
else
	ktap_check "floor answered" sh -c "shm-floor pong $SHM_DEV/resource2 && shm-floor recv $SHM_DEV/resource2"
fi
DBG=/sys/kernel/debug/popcorn_shm/${SHM_DEV##*/}
ktap_check "setup" setup
ktap_check "peer up" busywait 30000 peer_up
if [ "$POPCORN_GUEST" = 0 ]; then
	ktap_check "measured" measure
	ktap_check "measured over tcp" measure_tcp
else
	ktap_check "answered" answer
	ktap_check "answered over tcp" over_tcp
fi
barrier 1
pcn_rmmod
ktap_finish
