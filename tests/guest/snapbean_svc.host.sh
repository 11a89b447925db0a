#!/bin/bash
# The client of snapbean_svc.sh, in the rig's network namespace: the
# service address answers through guest 0's NIC, from the kernel that
# guest 0's rule names for the client's source port: 61001 itself, 61000
# and any other port two different other kernels.
set -u
SVC=10.99.0.100
. ./host_lib.sh

# Tell guest 0 we are done, however this ends.
trap 'echo "done, $fails failed" > /dev/tcp/10.99.0.2/9999' EXIT

# server [CURL ARGS]: the guest that answered.
server() {
	curl -sS --max-time 10 "$@" "http://$SVC/" 2>&1 | sed -n 's/^served by guest //p'
}

# Until guest 0 steers, it answers itself.
steered() {
	for _ in $(seq 300); do
		default=$(server)
		[ -n "$default" ] && [ "$default" != 0 ] && return 0
		sleep 0.5
	done
	echo "# last answer from guest $default"
	return 1
}

# answered_by WANT GUEST: GUEST answered, and it is the one we want.
answered_by() {
	echo "# answered by guest $2"
	[ -n "$2" ] && [ "$1" = "$2" ]
}

# iperf ARGS: TCP with the service moved over a megabyte.
iperf() {
	local json
	json=$(iperf3 -J -t 3 -c "$SVC" "$@")
	bytes=$(echo "$json" | awk '/"sum_received"/ { f = 1 } f && /"bytes"/ { print $2 + 0; exit }')
	echo "# iperf3${*:+ $*} moved ${bytes:-no} bytes"
	[ -n "$bytes" ] && [ "$bytes" -gt 1000000 ] && return 0
	echo "$json" | grep '"error"'
	return 1
}

check "the service answers from another kernel, through the owner's NIC" steered
check "any other port: that kernel answers again" answered_by "$default" "$(server)"
other=$(server --local-port 61000)
check "source port 61000: a third kernel answers" answered_by "$other" "$(
	[ "$other" != 0 ] && [ "$other" != "$default" ] && echo "$other")"
check "source port 61001: the owner answers" answered_by 0 "$(server --local-port 61001)"
check "iperf3 to the service, served by a non-owner" iperf
sleep 1
check "iperf3 from the service (-R)" iperf -R
[ $fails = 0 ]
