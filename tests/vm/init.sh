#!/bin/busybox sh
# /init of every rig guest: mount, load the kernel's own modules, configure
# the links, run the test named on the command line, and report its status
# through QEMU's isa-debug-exit device.
/bin/busybox --install -s /bin
# Debian's tools before busybox's applets of the same name.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mount -t debugfs debugfs /sys/kernel/debug
mount -t bpf bpf /sys/fs/bpf
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts

for m in $(cat /lib/modules/load-order); do
	insmod "/lib/modules/$m" || echo "init: cannot load $m"
done

for w in $(cat /proc/cmdline); do
	case "$w" in
	popcorn.*=*)
		k=${w%%=*}; k=${k#popcorn.}
		export "POPCORN_$(echo "$k" | tr a-z A-Z)=${w#*=}"
		;;
	esac
done
hostname "guest$POPCORN_GUEST"

# Links by MAC: 52:54:00:00:01:NN joins the guests (10.98.0.NN+1),
# 52:54:00:00:02:00 is the NIC into the host's namespace (10.99.0.2).
ip link set lo up
for dev in /sys/class/net/*; do
	name=${dev##*/}
	case "$(cat "$dev/address")" in
	52:54:00:00:01:*)
		n=$(( 0x$(cut -d: -f6 "$dev/address") + 1 ))
		ip addr add "10.98.0.$n/24" dev "$name" && ip link set "$name" up
		;;
	52:54:00:00:02:00)
		ip addr add 10.99.0.2/24 dev "$name" && ip link set "$name" up
		;;
	esac
done

# On the debug kernel, leaks from before the test (boot) are not the test's.
KMEMLEAK=/sys/kernel/debug/kmemleak
[ -w "$KMEMLEAK" ] && echo clear > "$KMEMLEAK"

# debug_verdict: what the debug kernel saw that the console scan cannot:
# leaks (kmemleak reports objects older than 5 s) and taints other than
# O and E (our modules are out of tree and unsigned) and W (a warning,
# which the console scan judges).
debug_verdict() {
	bad=0
	if [ -w "$KMEMLEAK" ]; then
		sleep 6
		echo scan > "$KMEMLEAK"
		leaks=$(cat "$KMEMLEAK")
		if [ -n "$leaks" ]; then
			echo "# kmemleak:"
			echo "$leaks" | sed 's/^/# /'
			bad=1
		fi
	fi
	taint=$(cat /proc/sys/kernel/tainted)
	if [ $((taint & ~(512 | 4096 | 8192))) -ne 0 ]; then
		echo "# kernel tainted: $taint"
		bad=1
	fi
	return $bad
}

cd /tests
case "$POPCORN_TEST" in
shell)
	echo "guest $POPCORN_GUEST of $POPCORN_GUESTS: exit the shell to stop the rig"
	setsid cttyhack sh -l
	rc=0
	;;
idle)
	while :; do sleep 3600; done
	;;
*)
	set -o pipefail
	sh "./$POPCORN_TEST" 2>&1 | tee /dev/ttyS1
	rc=$?
	debug_verdict 2>&1 | tee /dev/ttyS1 || rc=1
	;;
esac
sync
debug-exit "$rc"
