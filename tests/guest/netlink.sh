#!/bin/sh
# The netlink family: its answers to bad requests (netlink_test.c, its
# KTAP nested below ours), and, with two guests, pings and a bench that a
# signal stops: netlink_test's own, and popcornctl's on Ctrl-C (SIGINT),
# which must say "interrupted" and exit with 130 at once; load reports
# that cross to the other kernel. Each guest pings the other; with one
# guest those checks are skipped.
. ./lib.sh

two=$([ "${POPCORN_GUESTS:-1}" -ge 2 ] && echo 1)

setup() {
	if [ -n "$two" ]; then
		pcn_setup && busywait 30000 peer_up
	else
		insmod "$MSG_MOD" && popcornctl node add 0 --self
	fi
}

bad_requests() {
	set -o pipefail
	PCN_PEER=${two:+$peer} netlink_test 2>&1 | sed 's/^/    /'
}

# interrupt_popcornctl ARGS...: popcornctl ARGS in the background, SIGINT
# after a second; it must end within 5 s, say why and exit with 130.
interrupt_popcornctl() {
	echo "# popcornctl $*"
	popcornctl "$@" >/tmp/out 2>&1 &
	pid=$!
	sleep 1
	kill -INT $pid
	if ! busywait 5000 sh -c "! kill -0 $pid 2>/dev/null"; then
		echo "# still running 5 s after SIGINT"
		kill -KILL $pid
		wait $pid
		return 1
	fi
	wait $pid
	rc=$?
	sed 's/^/# /' /tmp/out
	expect_eq "exit status" $rc 130 && grep -q ": interrupted$" /tmp/out
}

# Each kernel reports, as popcornd does every period, a load that names
# it; the other's arrives.
peer_load() {
	popcornctl load set --accept-queue $((self + 5)) --established 7 --cpu-busy 0.25 &&
		popcornctl load | grep -q "^$peer  *$((peer + 5))  *7  *25.0% "
}

loads_cross() {
	busywait 10000 peer_load && popcornctl load | sed 's/^/# /'
}

check_two() {
	if [ -n "$two" ]; then
		ktap_check "$@"
	else
		ktap_ok "$1 # SKIP needs two guests"
	fi
}

ktap_plan 6
ktap_check "setup" setup
ktap_check "bad requests refused, a ping stopped by a signal" bad_requests
check_two "load reports cross to the other kernel" loads_cross
check_two "Ctrl-C stops popcornctl ping" \
	interrupt_popcornctl ping "$peer" -c 10000 -s 1048576 --timeout 10s
check_two "Ctrl-C stops popcornctl bench" \
	interrupt_popcornctl bench "$peer" --count 1000000 --size 1048576
# The peer may still be pinging us.
[ -n "$two" ] && barrier 1
ktap_check "rmmod" sh -c "rmmod popcorn_shm 2>/dev/null; rmmod popcorn_msg"
ktap_finish
