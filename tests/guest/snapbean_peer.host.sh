#!/bin/bash
# The client of snapbean_peer.sh and msg_peer.sh, in the rig's namespace:
# once guest 0 says its transfer runs (http://10.99.0.2/phase), have the
# rig kill guest 2, which the rig then boots again.
set -u
phase=
for _ in $(seq 1500); do
	phase=$(curl -s --max-time 2 http://10.99.0.2/phase)
	[ "$phase" = transfer ] && break
	sleep 0.2
done
if [ "$phase" != transfer ]; then
	echo "not ok 1 guest 0 never started its transfer (phase: ${phase:-none})"
	exit 1
fi
touch "$POPCORN_RIG_CTL/kill-2"
echo "ok 1 asked the rig to kill guest 2 mid-transfer"
