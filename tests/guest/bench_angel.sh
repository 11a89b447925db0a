#!/bin/sh
# make bench-angel, in three guests: every kernel runs popcornd (service
# 10.99.0.100:80 steered by Angel on guest 0's NIC) and busybox httpd on
# the service address, which forks a process per connection. The client
# (bench_angel.host.sh) asks guest 0 to set the mode before each
# measurement, through a CGI of guest 0's httpd on its NIC address:
#
#   mode?angel   popcornd from a clean slate: the even table, every kernel auto
#   mode?hash    the even table, every kernel held: plain hash steering, with
#                popcornd running as in the other modes
#   mode?single  the other kernels drained: the owner serves alone
#   hog?on|off   guest 2 loaded with a CPU hog, or not (relayed over sb0)
#
# Guest 2 answers its hog CGI on its sb0 address; the hog is a busy loop
# per CPU at nice -20, which leaves its server a few percent of the CPU.
. ./lib.sh
. ./service.sh
SERVICE_BY_POPCORND=1
ANGEL_NIC=eth0
CTL=/tmp/ctl

. ./bench_angel_ctl.sh

setup() {
	pcn_insmod && insmod "$SB_MOD" || return 1
	self=$(cat "$(shm_dev)/popcorn/peer_id")
	pcn_conf $(pcn_nodes)
	start_popcornd
	busywait 60000 sh -c ". ./lib.sh; all_up && carrier_on && ip addr show dev lo | grep -q '$SVC/32'" || return 1
	mkdir -p /tmp/www && echo "served by guest $self" > /tmp/www/index.html &&
		busybox httpd -p "$SVC:80" -h /tmp/www
}

# cgi NAME BODY: a CGI script of the control server.
cgi() {
	mkdir -p $CTL/cgi-bin
	{
		echo "#!/bin/sh"
		echo "cd $PWD"
		echo 'printf "Content-Type: text/plain\r\n\r\n"'
		echo "$2"
	} > "$CTL/cgi-bin/$1"
	chmod +x "$CTL/cgi-bin/$1"
}

# The owner's control CGIs; each answers once the mode is in force.
owner_ctl() {
	cgi mode '. ./bench_angel_ctl.sh; set_mode "$QUERY_STRING" 2>&1'
	cgi hog 'wget -q -O - "http://10.97.0.3:8080/cgi-bin/hog?$QUERY_STRING" 2>&1'
	busybox httpd -p 10.99.0.2:8080 -h $CTL
}

hog_ctl() {
	cgi hog '. ./bench_angel_ctl.sh; set_hog "$QUERY_STRING" 2>&1'
	busybox httpd -p 10.97.0.3:8080 -h $CTL
}

ktap_plan 2
ktap_check "popcornd, httpd on $SVC:80" setup
case $POPCORN_GUEST in
0) owner_ctl ;;
2) hog_ctl ;;
esac
every_peer barrier 1
if [ "$POPCORN_GUEST" = 0 ]; then
	host_done
fi
every_peer barrier 2
set_hog off >/dev/null
stop() {
	stop_popcornd; rm -rf /sys/fs/bpf/popcorn && sleep 1 &&
		rmmod snapbean && pcn_rmmod
}
ktap_check "stop, unload" stop
ktap_finish
