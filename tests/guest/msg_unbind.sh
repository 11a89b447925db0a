#!/bin/sh
# The device under a live transport goes away and comes back: peer 1
# unbinds its ivshmem device from popcorn_shm while peer 0 keeps RPCs in
# flight, then binds it again. RPCs fail with "host is down", nothing
# splats, and the nodes come back up on the same window.
. ./lib.sh

DRV=/sys/bus/pci/drivers/popcorn_shm

peer_down() {
	popcornctl node list | grep -q "^$peer  *down "
}

watch_unbind() {
	out=$(popcornctl ping "$peer" -c 10000 -s 65536 --timeout 30s 2>&1)
	echo "# $out"
	case "$out" in
	*"host is down"*) ;;
	*) return 1 ;;
	esac
}

traffic_flows() {
	[ "$(node_stat "$peer" rx_bytes)" -ge 1048576 ]
}

unbind_under_traffic() {
	busywait 30000 traffic_flows &&
	echo "${SHM_DEV##*/}" > $DRV/unbind && busywait 5000 peer_down
}

# The device stays away a while: the peer's RPCs meanwhile fail.
rebind() {
	sleep 2
	echo "${SHM_DEV##*/}" > $DRV/bind
}

pings_again() {
	busywait 30000 peer_up && popcornctl ping "$peer" -c 20 -s 4095 >/dev/null
}

ktap_plan 5
ktap_check "setup" pcn_setup
ktap_check "peer up" busywait 30000 peer_up
if [ "$self" = 0 ]; then
	ktap_check "RPCs fail with host is down while the peer's device is gone" watch_unbind
else
	ktap_check "unbind the device under traffic" unbind_under_traffic
	rebind
fi
ktap_check "bound again, the nodes come back up" pings_again
barrier 1
ktap_check "rmmod popcorn_shm popcorn_msg" pcn_rmmod
ktap_finish
