#!/bin/bash
# The client of angel.sh, in the rig's network namespace: new connections
# to the service through guest 0's NIC are served by every kernel; once
# guest 2 is loaded its share of new connections falls, while the
# connections it held before are still answered where they were.
set -u
SVC=10.99.0.100:80
OWNER=10.99.0.2
. ./host_lib.sh
load=${POPCORN_BUILD:-../../build}/guest/angel-load
release=$(mktemp -u)
trap 'rm -f "$release"; tell "done, $fails failed"' EXIT

# count GUEST: guest GUEST's share of the last client run; errors ERRORS.
count() {
	echo "$last" | tr ' ' '\n' | sed -n "s/^$1://p" | grep . || echo 0
}

clients() {
	last=$("$load" client -addr $SVC -conns "$1" -parallel 16)
	echo "# $1 new connections: $last"
}

# Until guest 0 steers, it answers alone; until every kernel's server
# listens, some connections are refused; a kernel whose popcornd came up
# after guest 0's gains its share a few buckets at a time.
all_answer() {
	[ "$(count 1)" -ge 6 ] && [ "$(count 2)" -ge 6 ] && echo "$last" | grep -q "errors 0$"
}

steered() {
	for _ in $(seq 180); do
		clients 60 >/dev/null
		all_answer && break
		sleep 0.5
	done
	echo "# 60 new connections: $last"
	all_answer
}

every_kernel() {
	clients 600
	before=$(count 2)
	[ "$(count 0)" -gt 0 ] && [ "$(count 1)" -gt 0 ] && [ "$before" -gt 0 ] &&
		echo "$last" | grep -q "errors 0$"
}

holding() {
	"$load" hold -addr $SVC -conns 30 -release "$release" > /tmp/angel-hold.$$ &
	holder=$!
	for _ in $(seq 100); do
		grep -q '^first' /tmp/angel-hold.$$ && break
		sleep 0.2
	done
	sed 's/^/# /' /tmp/angel-hold.$$
	grep -q '^first served.* 2:[1-9].* errors 0' /tmp/angel-hold.$$
}

# tell WORD: say WORD to guest 0, once it listens.
tell() {
	for _ in $(seq 60); do
		echo "$1" 2>/dev/null > /dev/tcp/$OWNER/9999 && return 0
		sleep 0.5
	done
	return 1
}

# Guest 2's share of new connections falls under a third of what it was
# (a slow kernel, the debug one, takes its time).
share_fell() {
	for _ in $(seq 60); do
		clients 300
		[ $((6 * $(count 2))) -lt "$before" ] && return 0
		sleep 1
	done
	return 1
}

answered_elsewhere() {
	clients 600
	echo "$last" | grep -q "errors 0$" && [ $((2 * $(count 2))) -lt "$before" ]
}

held_live_on() {
	touch "$release"
	wait "$holder"
	sed 's/^/# /' /tmp/angel-hold.$$
	grep -q '^broken 0 of 30$' /tmp/angel-hold.$$
}

check "Angel steers a tenth of new connections or more to each other kernel" steered
check "600 new connections: every kernel serves some" every_kernel
check "30 connections held open, some on guest 2" holding
check "guest 0 told to load guest 2" tell load
check "guest 2 loaded: its share of new connections falls" share_fell
check "600 more new connections, each answered, under half as many by guest 2" answered_elsewhere
check "the held connections are answered where they were" held_live_on
rm -f /tmp/angel-hold.$$
[ $fails = 0 ]
