package vm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestCpioListsWithCpio(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("cpio not installed")
	}
	var buf bytes.Buffer
	c := newCpio(&buf)
	if err := c.File("bin/busybox", 0o755, []byte("odd-length")); err != nil {
		t.Fatal(err)
	}
	if err := c.Symlink("bin/sh", "busybox"); err != nil {
		t.Fatal(err)
	}
	if err := c.File("lib/modules/a.ko", 0o644, []byte("1234")); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("cpio", "-it", "--quiet")
	cmd.Stdin = &buf
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cpio -t: %v", err)
	}
	want := "bin\nbin/busybox\nbin/sh\nlib\nlib/modules\nlib/modules/a.ko\n"
	if string(out) != want {
		t.Fatalf("cpio lists\n%s\nwant\n%s", out, want)
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestKtapVerdict(t *testing.T) {
	for _, tc := range []struct {
		name, ktap string
		ok         bool
	}{
		{"pass", "KTAP version 1\n1..2\nok 1 a\nok 2 b\n", true},
		{"skip is not a failure", "1..1\nnot ok 1 a # SKIP no device\n", true},
		{"failure", "1..2\nok 1 a\nnot ok 2 b\n", false},
		{"missing result", "1..3\nok 1 a\nok 2 b\n", false},
		{"no plan", "ok 1 a\n", false},
		{"empty", "", false},
		{"nested results do not count", "1..1\n    not ok 1 sub\nok 1 a\n", true},
	} {
		err := ktapVerdict(writeFile(t, tc.ktap))
		if (err == nil) != tc.ok {
			t.Errorf("%s: verdict %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestFindSplat(t *testing.T) {
	clean := "[    0.000000] Linux version 6.1\n[    2.000000] popcorn_shm: peer 0\n" +
		"ok 1 setup\n# WARNING: a test may say this\n"
	if s, err := findSplat(writeFile(t, clean)); err != nil || s != "" {
		t.Fatalf("clean console: %q %v", s, err)
	}
	for _, line := range []string{
		"[    2.718281] WARNING: CPU: 0 PID: 168 at x.c:8 f+0x15/0xff0",
		"[    3.100000] BUG: kernel NULL pointer dereference, address: 0000000000000000",
		"[    3.100000] general protection fault, probably for non-canonical address",
		"[  120.000000] INFO: task insmod:99 blocked for more than 120 seconds.",
		"[    3.100000] refcount_t: underflow; use-after-free.",
		"[    3.100000] Call Trace:",
		"[    3.100000]  <TASK>Call Trace",
		"[    5.000000] BUG: sleeping function called from invalid context at mm/slab.h:1",
		"[    5.000000] sleeping function called from invalid context at kernel/locking/mutex.c:580",
		"[    5.000000] WARNING: possible circular locking dependency detected",
		"[    5.000000] possible circular locking dependency detected",
		"[    5.000000] inconsistent lock state",
		"[    5.000000] suspicious RCU usage",
		"[    5.000000] BUG: KASAN: slab-out-of-bounds in pcn_recv+0x1/0x2",
		"[    5.000000] kmemleak: unreferenced object 0xffff888003 (size 64):",
		"[    5.000000] kmemleak: 3 new suspected memory leaks (see /sys/kernel/debug/kmemleak)",
		"[   60.000000] rcu: INFO: rcu_sched self-detected stall on CPU",
		"[   60.000000] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
		"[12345.123456] Kernel panic - not syncing: Fatal exception",
		// A kernel message after a test's unfinished line.
		"# waiting[    3.100000] WARNING: CPU: 1 PID: 2 at y.c:1",
	} {
		s, err := findSplat(writeFile(t, clean+line+"\n"))
		if err != nil || s != line {
			t.Errorf("splat %q: found %q %v", line, s, err)
		}
	}
}

// The test's output shares the console with the kernel: what a script
// prints fails nothing, however alarming, and only a stamp makes a line
// the kernel's.
func TestFindSplatIgnoresTestOutput(t *testing.T) {
	for _, line := range []string{
		"WARNING: CPU: 0 PID: 168 at x.c:8 f+0x15/0xff0",
		"# BUG: this is the test talking",
		"Call Trace:",
		"not ok 3 unreferenced object # SKIP",
		"[2.7] WARNING: not a printk stamp",
		"[ 2.718281 ] WARNING: not a printk stamp either",
		"WARNING: before the stamp [    3.100000] popcorn_shm: peer 0",
	} {
		if s, err := findSplat(writeFile(t, "[    0.000000] Linux version 6.1\n"+line+"\n")); err != nil || s != "" {
			t.Errorf("test output %q taken for a splat: %q %v", line, s, err)
		}
	}
	if kernelText("[    0.500000] x") != " x" || kernelText("[0.500000]y") != "y" || kernelText("x") != "" {
		t.Error("kernelText")
	}
}

func TestParseSuite(t *testing.T) {
	s, err := parseSuite(strings.Fields("net 2 net.sh --net --nic --host=net.host.sh --ivshmem=plain --vectors=6 --shm-size=1024 --timeout=30s --want-splat"))
	if err != nil {
		t.Fatal(err)
	}
	want := Suite{Name: "net", Guests: 2, CPUs: 1, Script: "net.sh", Host: "net.host.sh", Ivshmem: "plain", Vectors: 6, ShmSize: 1024,
		Net: true, NIC: true, Timeout: 30 * time.Second, WantSplat: true}
	if s != want {
		t.Fatalf("got %+v\nwant %+v", s, want)
	}
	for _, bad := range []string{"a 1", "a 0 x.sh", "a 9 x.sh", "a two x.sh", "a 1 x.sh --bogus", "a 1 x.sh --vectors=x"} {
		if _, err := parseSuite(strings.Fields(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSuitesManifestParses(t *testing.T) {
	suites, err := ParseSuites("../guest/suites")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range suites {
		if _, err := os.Stat(filepath.Join("../guest", s.Script)); err != nil {
			t.Errorf("suite %s: %v", s.Name, err)
		}
	}
}

func TestModuleDepends(t *testing.T) {
	info := []byte("\x00license=GPL\x00depends=virtio,virtio_ring\x00retpoline=Y\x00")
	got := moduleDepends(info)
	if strings.Join(got, " ") != "virtio virtio_ring" {
		t.Fatalf("depends %v", got)
	}
	if got := moduleDepends([]byte("\x00depends=\x00")); got != nil {
		t.Fatalf("empty depends: %v", got)
	}
}

func TestSeries(t *testing.T) {
	for rel, want := range map[string]string{
		"6.1.0-56-cloud-amd64":       "6.1",
		"6.12.117+deb12-cloud-amd64": "6.12",
		"6.12-rc1":                   "6.12",
	} {
		if got := series(rel); got != want {
			t.Errorf("series(%q) = %q, want %q", rel, got, want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "t.sh"), nil, 0o644)
	good := Options{Guests: 2, Ivshmem: "doorbell", Script: "t.sh", TestsDir: dir}
	if err := good.validate(); err != nil {
		t.Fatal(err)
	}
	if good.vectors() != 4 {
		t.Fatalf("default vectors %d, want two per guest", good.vectors())
	}
	for _, mod := range []func(*Options){
		func(o *Options) { o.Guests = 0 },
		func(o *Options) { o.Guests = 9 },
		func(o *Options) { o.Ivshmem = "pci" },
		func(o *Options) { o.Script = "" },
		func(o *Options) { o.Script = "missing.sh" },
	} {
		o := good
		mod(&o)
		if err := o.validate(); err == nil {
			t.Errorf("accepted %+v", o)
		}
	}
}

func TestGuestArgs(t *testing.T) {
	o := Options{Kernel: Kernel{Release: "6.1.0-56-cloud-amd64", Root: "/k"}, Guests: 3, CPUs: 1, MemMB: 384,
		Ivshmem: "doorbell", ShmSize: 4 << 20, Net: true, NIC: true, Script: "net.sh"}
	for _, tc := range []struct {
		cpus int
		smp  string
	}{{1, "1,maxcpus=2"}, {2, "2,maxcpus=2"}, {4, "4,maxcpus=4"}} {
		o.CPUs = tc.cpus
		r := &run{opts: o, dir: "/run"}
		args := strings.Join(r.guestArgs(0), " ")
		// With one possible vCPU, TCG's atomics are not atomic across guests.
		for _, want := range []string{"-smp " + tc.smp + " ", "-accel tcg,thread=multi ", "printk.time=1 "} {
			if !strings.Contains(args, want) {
				t.Errorf("cpus %d: %q not in %s", tc.cpus, want, args)
			}
		}
	}
	// The taps guest i gets are numbered from fd 3 as guestFiles orders them.
	names := map[*os.File]string{}
	tap := func(name string) *os.File {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		names[f] = name
		return f
	}
	n := &hostNet{nic: tap("nic"), links: []*os.File{tap("lnk0"), tap("lnk1"), tap("lnk2")}}
	r := &run{opts: o, dir: "/run"}
	for i := range o.Guests {
		args := strings.Join(r.guestArgs(i), " ")
		for _, bad := range []string{"dgram", "230.0.0.1", "socket,id=link", "udp"} {
			if strings.Contains(args, bad) {
				t.Errorf("guest %d: %q in %s", i, bad, args)
			}
		}
		files := n.guestFiles(i)
		want := map[string]string{"link": fmt.Sprintf("lnk%d", i)}
		if i == 0 {
			want["nic"] = "nic"
		}
		if len(files) != len(want) {
			t.Fatalf("guest %d: %d files, want %d", i, len(files), len(want))
		}
		for id, name := range want {
			found := false
			for fd, f := range files {
				if names[f] == name && strings.Contains(args, fmt.Sprintf("-netdev tap,id=%s,fd=%d ", id, fd+3)) {
					found = true
				}
			}
			if !found {
				t.Errorf("guest %d: netdev %s is not on the fd of %s: %s", i, id, name, args)
			}
		}
	}
	if n := (*hostNet)(nil); n.guestFiles(0) != nil {
		t.Error("files without a namespace")
	}
}

// Every ip(8) step but the namespace's creation runs inside it: nothing is
// added to the host's own namespace.
func TestNetStepsStayInNamespace(t *testing.T) {
	steps := netSteps("pcnvm-1", true, 3)
	if strings.Join(steps[0], " ") != "netns add pcnvm-1" {
		t.Fatalf("first step %v", steps[0])
	}
	ports := 0
	for _, s := range steps[1:] {
		if len(s) < 2 || s[0] != "-n" || s[1] != "pcnvm-1" {
			t.Errorf("step outside the namespace: %v", s)
		}
		if strings.Contains(strings.Join(s, " "), "master "+bridgeName) {
			ports++
		}
	}
	if ports != 3 {
		t.Errorf("%d ports on the bridge, want 3", ports)
	}
}

// A frame one guest's tap sends reaches another's through the bridge, and
// Close leaves no namespace behind. Needs root, tun and bridges.
func TestHostNetBridge(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip(8)")
	}
	ns := fmt.Sprintf("pcnvm-test-%d", os.Getpid())
	n, err := newHostNet(ns, true, 3)
	if err != nil {
		t.Skipf("cannot build the namespace here: %v", err)
	}
	defer n.Close()
	if n.nic == nil || len(n.links) != 3 {
		t.Fatalf("nic %v links %d", n.nic, len(n.links))
	}
	frame := make([]byte, 60)
	copy(frame, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0, 1, 0, 0x88, 0xb5})
	copy(frame[14:], "popcorn-vm bridge test")
	for _, i := range []int{1, 2} {
		if !passes(t, n.links[0], n.links[i], frame) {
			t.Errorf("guest %d's tap did not get guest 0's frame", i)
		}
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/run/netns/" + ns); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("namespace %s left behind: %v", ns, err)
	}
}

// passes sends frame into one tap until it comes out of the other. A
// bridge port starts forwarding only once the kernel has seen its carrier
// come up, a moment after the tap is opened; and the bridge floods its own
// chatter too.
func passes(t *testing.T, from, to *os.File, frame []byte) bool {
	t.Helper()
	buf := make([]byte, 2048)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if _, err := from.Write(frame); err != nil {
			t.Fatal(err)
		}
		pfd := []unix.PollFd{{Fd: int32(to.Fd()), Events: unix.POLLIN}}
		for {
			if n, err := unix.Poll(pfd, 200); err != nil || n == 0 {
				break
			}
			n, err := to.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(buf[:n], frame) {
				return true
			}
		}
	}
	return false
}
