# The modes of make bench-angel (bench_angel.sh), sourced by its CGIs.
. ./service.sh

# restart [MODE NODE...]: popcornd again from a clean slate (the pins
# removed, so the table starts even), with MODE set on the NODEs first.
restart() {
	mode=$1
	shift
	stop_popcornd
	rm -rf /sys/fs/bpf/popcorn
	for n in "$@"; do
		popcornctl angel set "$n" --mode "$mode" || return 1
	done
	start_popcornd
}

stop_popcornd() {
	pid=$(cat /tmp/popcornd.pid)
	kill "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

start_popcornd() {
	setsid popcornd -config /etc/popcorn/popcorn.yaml -listen :9464 </dev/null >>/tmp/popcornd.log 2>&1 &
	echo $! > /tmp/popcornd.pid
}

drained() {
	[ "$(angel_buckets 1)" = 0 ] && [ "$(angel_buckets 2)" = 0 ]
}

# waitfor SECONDS COMMAND: until COMMAND succeeds.
waitfor() {
	n=$(($1 * 10))
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}

set_mode() {
	case $1 in
	angel) restart auto ;;
	hash) restart hold 0 1 2 ;;
	single) restart drain 1 2 ;;
	*) echo "unknown mode $1"; return 1 ;;
	esac
	waitfor 60 angel_steering || { echo "not steering"; return 1; }
	if [ "$1" = single ]; then
		waitfor 60 drained || { echo "not drained"; return 1; }
	fi
	echo "mode $1"
	popcornctl angel status
}

HOG_PIDS=/tmp/hog.pids

set_hog() {
	if [ -f $HOG_PIDS ]; then
		kill $(cat $HOG_PIDS)
		rm -f $HOG_PIDS
	fi
	if [ "$1" = on ]; then
		# At nice -20 the hog leaves the kernel's server a few percent.
		for _ in $(seq "$(grep -c '^processor' /proc/cpuinfo)"); do
			setsid nice -n -20 sh -c 'while :; do :; done' </dev/null >/dev/null 2>&1 &
			echo $! >> $HOG_PIDS
		done
	fi
	echo "hog $1"
}
