#!/bin/sh
# One service address served by every kernel (service.sh): every kernel
# serves it, guest 0 steers it from its NIC, and the client,
# snapbean_svc.host.sh in the rig's namespace, checks which kernel
# answers each source port, over HTTP and iperf3.
. ./lib.sh
. ./service.sh

N=$POPCORN_GUESTS

# What the owner steered to us came in over sb0: at least one HTTP
# connection (SYN, ACK, request, ACK, FIN).
got_frames() {
	n=$(cat /sys/class/net/sb0/statistics/rx_packets)
	echo "# $n frames over sb0"
	[ "$n" -ge 5 ]
}

unload() {
	rmmod snapbean && rmmod popcorn_shm && rmmod popcorn_msg
}

if [ "$POPCORN_GUEST" = 0 ]; then ktap_plan 10; else ktap_plan 8; fi
ktap_check "configure self and $((N - 1)) peers" pcn_setup
ktap_check "all $N nodes up" busywait 30000 all_up
ktap_check "insmod snapbean, sb0 up" sb_up
ktap_check "carrier on with peers up" busywait 10000 carrier_on
ktap_check "serve HTTP and iperf3 on $SVC" serve
service_run
[ "$POPCORN_GUEST" = 0 ] || ktap_check "the owner steered clients to us" got_frames
every_peer barrier 3
ktap_check "rmmod snapbean popcorn_shm popcorn_msg" unload
ktap_finish
