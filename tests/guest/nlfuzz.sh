#!/bin/sh
# The netlink family under a fuzzer (pcn-nlfuzz: random commands, flags
# and attributes, well-formed or not), in both kernels at once, while
# echoes flow between them over shm and over tcp; the fuzzer never
# deletes the nodes that carry them. Then both nodes are still up, every
# echo passed, and the fuzzer's nodes are gone. COUNT, the requests per
# kernel: 20000, and 4000 on the debug kernel, where each takes twenty
# times as long; nlfuzz_long.sh (make test-long) sends 100000.
. ./lib.sh
case $(uname -r) in
*debug*) COUNT=${COUNT:-4000} ;;
*) COUNT=${COUNT:-20000} ;;
esac

setup() {
	pcn_setup && insmod "$TCP_MOD"
}

# traffic: echoes to the peer until /tmp/stop exists.
traffic() {
	while [ ! -e /tmp/stop ]; do
		popcornctl ping "$peer" -c 10 -s 4095 --timeout 10s >/dev/null ||
			echo fail >> /tmp/traffic.err
	done
}

fuzz() {
	pcn-nlfuzz -n "$COUNT" -seed "$((POPCORN_GUEST + 1))" -keep "$self,$peer" 2>&1 | tail -n 30
}

only_ours() {
	popcornctl node list | sed 's/^/# /'
	[ "$(popcornctl node list | grep -vc '^NODE')" -eq 2 ]
}

ktap_plan 6
ktap_check "configure self and peer" setup
ktap_check "peer up" busywait 30000 peer_up
rm -f /tmp/stop /tmp/traffic.err
traffic &
ktap_check "$COUNT fuzzed requests answered" fuzz
touch /tmp/stop
wait
ktap_check "every echo passed meanwhile" test ! -e /tmp/traffic.err
ktap_check "only this kernel and its peer left" only_ours
barrier 1
ktap_check "rmmod" pcn_rmmod
ktap_finish
