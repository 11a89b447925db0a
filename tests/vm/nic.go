package vm

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hostNIC is a tap device inside a network namespace of its own, which
// guest 0 uses as its NIC: clients run in that namespace (ip netns exec).
type hostNIC struct {
	ns  string
	tap *os.File
}

const tapName = "tap0"

func newHostNIC(ns string) (*hostNIC, error) {
	n := &hostNIC{ns: ns}
	steps := [][]string{
		{"netns", "add", ns},
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", ns, "tuntap", "add", "dev", tapName, "mode", "tap"},
		{"-n", ns, "addr", "add", "10.99.0.1/24", "dev", tapName},
		{"-n", ns, "link", "set", tapName, "up"},
	}
	for _, s := range steps {
		if out, err := exec.Command("ip", s...).CombinedOutput(); err != nil {
			n.Close()
			return nil, fmt.Errorf("ip %v: %v: %s", s, err, out)
		}
	}
	tap, err := openTapIn(ns, tapName)
	if err != nil {
		n.Close()
		return nil, err
	}
	n.tap = tap
	return n, nil
}

// openTapIn attaches to a persistent tap inside namespace ns. Only this
// locked thread enters the namespace, and it never leaves it: the runtime
// discards a thread that is still locked when its goroutine ends.
func openTapIn(ns, name string) (*os.File, error) {
	type result struct {
		f   *os.File
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
		f, err := openTap(name)
		ch <- result{f, err}
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
	return os.NewFile(uintptr(fd), "/dev/net/tun"), nil
}

// Close deletes the namespace and with it the tap.
func (n *hostNIC) Close() {
	if n.tap != nil {
		n.tap.Close()
	}
	exec.Command("ip", "netns", "del", n.ns).Run()
}
