package vm

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hostNet is the network namespace a run creates for itself, which holds
// every host-side end of the guests' virtio-net devices, so that no guest
// frame leaves it:
//
//   - guest 0's NIC (--nic) is the tap "tap0", 10.99.0.1 on the host side;
//     clients run in the namespace (ip netns exec);
//   - the guests' link (--net) is the bridge "br0" with one tap per guest,
//     "lnkN" for guest N: one Ethernet segment for any number of guests.
//
// The taps are opened from a thread inside the namespace and handed to
// QEMU as file descriptors (-netdev tap,fd=N). Deleting the namespace
// deletes them all.
type hostNet struct {
	ns    string
	nic   *os.File   // guest 0's NIC; nil without --nic
	links []*os.File // guest N's port on br0; nil without --net
}

const (
	tapName    = "tap0"
	bridgeName = "br0"
	linkMTU    = "65000" // the bridge's, and its ports'
)

func linkTapName(i int) string { return fmt.Sprintf("lnk%d", i) }

// netSteps are the ip(8) commands that build namespace ns.
func netSteps(ns string, nic bool, links int) [][]string {
	steps := [][]string{
		{"netns", "add", ns},
		{"-n", ns, "link", "set", "lo", "up"},
	}
	if nic {
		steps = append(steps,
			[]string{"-n", ns, "tuntap", "add", "dev", tapName, "mode", "tap"},
			[]string{"-n", ns, "addr", "add", "10.99.0.1/24", "dev", tapName},
			[]string{"-n", ns, "link", "set", tapName, "up"})
	}
	// The bridge and its ports have no addresses, IPv6 link-local ones
	// included: the segment carries the guests' frames and nothing else.
	// Their MTU lets guests use jumbo frames (make bench-net).
	if links > 0 {
		steps = append(steps,
			[]string{"-n", ns, "link", "add", bridgeName, "type", "bridge"},
			[]string{"-n", ns, "link", "set", bridgeName, "addrgenmode", "none"},
			[]string{"-n", ns, "link", "set", bridgeName, "mtu", linkMTU},
			[]string{"-n", ns, "link", "set", bridgeName, "up"})
	}
	for i := range links {
		tap := linkTapName(i)
		steps = append(steps,
			[]string{"-n", ns, "tuntap", "add", "dev", tap, "mode", "tap"},
			[]string{"-n", ns, "link", "set", tap, "addrgenmode", "none"},
			[]string{"-n", ns, "link", "set", tap, "mtu", linkMTU},
			[]string{"-n", ns, "link", "set", tap, "master", bridgeName},
			[]string{"-n", ns, "link", "set", tap, "up"})
	}
	return steps
}

// newHostNet creates namespace ns with guest 0's NIC if nic is set and a
// bridge joining links guests if links > 0.
func newHostNet(ns string, nic bool, links int) (*hostNet, error) {
	n := &hostNet{ns: ns}
	for _, s := range netSteps(ns, nic, links) {
		if out, err := exec.Command("ip", s...).CombinedOutput(); err != nil {
			if s[0] != "netns" {
				n.Close()
			}
			return nil, fmt.Errorf("ip %v: %v: %s", s, err, out)
		}
	}
	var names []string
	if nic {
		names = append(names, tapName)
	}
	for i := range links {
		names = append(names, linkTapName(i))
	}
	taps, err := openTapsIn(ns, names)
	if err != nil {
		n.Close()
		return nil, err
	}
	if nic {
		n.nic, taps = taps[0], taps[1:]
	}
	if links > 0 {
		n.links = taps
	}
	return n, nil
}

// openTapsIn attaches to persistent taps inside namespace ns. Only this
// locked thread enters the namespace, and it never leaves it: the runtime
// discards a thread that is still locked when its goroutine ends.
func openTapsIn(ns string, names []string) ([]*os.File, error) {
	type result struct {
		f   []*os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		nsf, err := os.Open("/run/netns/" + ns)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer nsf.Close()
		if err := unix.Setns(int(nsf.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("setns %s: %w", ns, err)}
			return
		}
		var files []*os.File
		for _, name := range names {
			f, err := openTap(name)
			if err != nil {
				for _, f := range files {
					f.Close()
				}
				ch <- result{err: err}
				return
			}
			files = append(files, f)
		}
		ch <- result{f: files}
	}()
	r := <-ch
	return r.f, r.err
}

func openTap(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("/dev/net/tun: %w", err)
	}
	var req struct {
		name  [unix.IFNAMSIZ]byte
		flags uint16
		_     [22]byte
	}
	copy(req.name[:], name)
	req.flags = unix.IFF_TAP | unix.IFF_NO_PI
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req))); e != 0 {
		unix.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF %s: %w", name, e)
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun:"+name), nil
}

// guestFiles are the taps guest i gets, in the order guestArgs numbers
// them from fd 3 (exec.Cmd.ExtraFiles).
func (n *hostNet) guestFiles(i int) []*os.File {
	if n == nil {
		return nil
	}
	var files []*os.File
	if i == 0 && n.nic != nil {
		files = append(files, n.nic)
	}
	if i < len(n.links) {
		files = append(files, n.links[i])
	}
	return files
}

// Close deletes the namespace, and with it the bridge and the taps once
// no QEMU holds them.
func (n *hostNet) Close() error {
	if n.nic != nil {
		n.nic.Close()
	}
	for _, f := range n.links {
		f.Close()
	}
	if out, err := exec.Command("ip", "netns", "del", n.ns).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns del %s: %v: %s", n.ns, err, out)
	}
	return nil
}
