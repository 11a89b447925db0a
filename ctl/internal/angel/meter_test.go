package angel

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A /proc/net/tcp of the service 10.99.0.100:80 (0A63640A:0050): a
// listener on the wildcard with 3 waiting, one on the service address
// with 2, two established, and sockets of other ports and addresses.
const procTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0050 00000000:0000 0A 00000080:00000003 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 6400630A:0050 00000000:0000 0A 00000080:00000002 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
   2: 00000000:0016 00000000:0000 0A 00000080:00000009 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0
   3: 6400630A:0050 0100630A:9C40 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 20 4 30 10 -1
   4: 6400630A:0050 0100630A:9C41 01 00000000:00000000 00:00000000 00000000     0        0 5 1 0000000000000000 20 4 30 10 -1
   5: 6400630A:0050 0100630A:9C42 06 00000000:00000000 00:00000000 00000000     0        0 0 3 0000000000000000
   6: 0100007F:0050 0100007F:9C43 01 00000000:00000000 00:00000000 00000000     0        0 6 1 0000000000000000 20 4 30 10 -1
`

// The same service seen through an IPv6 socket (IPv4-mapped).
const procTCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00006400630A:0050 0000000000000000FFFF00000100630A:9C44 01 00000000:00000000 00:00000000 00000000     0        0 7 1 0000000000000000 20 4 30 10 -1
   1: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000004 00:00000000 00000000     0        0 8 1 0000000000000000 100 0 0 10 0
`

func fakeProc(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestMeterCountsTheService(t *testing.T) {
	proc := fakeProc(t, map[string]string{"net/tcp": procTCP, "net/tcp6": procTCP6,
		"stat": "cpu  100 0 100 800 0 0 0 0 0 0\n"})
	m := Meter{Service: netip.MustParseAddr("10.99.0.100"), Port: 80, Proc: proc}
	l, err := m.Read()
	if err != nil {
		t.Fatal(err)
	}
	if l.AcceptQueue != 9 || l.Established != 3 || l.CPUBusy != 0 {
		t.Errorf("load %+v, want accept queue 9, 3 established, busy 0 on a first reading", l)
	}
	m.Port = 0
	if l, _ = m.Read(); l.AcceptQueue != 18 {
		t.Errorf("every port: accept queue %d, want 18 (the port 22 listener too)", l.AcceptQueue)
	}
}

func TestMeterCPUBusy(t *testing.T) {
	proc := fakeProc(t, map[string]string{"net/tcp": procTCP,
		"stat": "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3 4\n"})
	m := Meter{Service: netip.MustParseAddr("10.99.0.100"), Proc: proc}
	if _, err := m.Read(); err != nil {
		t.Fatal(err)
	}
	// 120 ticks more: 50 user and 20 system, 25 idle and 5 iowait, 20
	// softirq; guest time (the last two fields) is counted in user already.
	os.WriteFile(filepath.Join(proc, "stat"), []byte("cpu  150 0 120 825 5 0 20 0 40 0\n"), 0o644)
	l, err := m.Read()
	if err != nil {
		t.Fatal(err)
	}
	if want := 70.0 / 120; l.CPUBusy < want-0.001 || l.CPUBusy > want+0.001 {
		t.Errorf("busy %v, want %.3f", l.CPUBusy, want)
	}
}

func TestMeterRejectsGarbage(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"short line":  {"net/tcp": "header\n 0: 00000000:0050\n", "stat": "cpu 1 2 3 4 5\n"},
		"bad address": {"net/tcp": "header\n 0: XYZ:0050 0:0 0A 0:0\n", "stat": "cpu 1 2 3 4 5\n"},
		"bad stat":    {"net/tcp": procTCP, "stat": "intr 5\n"},
	} {
		m := Meter{Service: netip.MustParseAddr("10.99.0.100"), Proc: fakeProc(t, files)}
		if _, err := m.Read(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// The host's own tables parse: whatever is there, no error.
func TestMeterReadsThisKernel(t *testing.T) {
	m := Meter{Service: netip.MustParseAddr("127.0.0.1")}
	if _, err := m.Read(); err != nil && !strings.Contains(err.Error(), "permission") {
		t.Fatal(err)
	}
}

// Sockets of this test's own on loopback: two connections waiting to be
// accepted, then accepted; sock_diag and /proc/net/tcp agree.
func TestMeterCountsRealSockets(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	for range 2 {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	diag := Meter{Service: netip.MustParseAddr("127.0.0.1"), Port: port}
	proc := Meter{Service: diag.Service, Port: port, Proc: "/proc"}
	want := Load{AcceptQueue: 2, Established: 2}
	for _, m := range []*Meter{&diag, &proc} {
		if l, err := m.sockets(); err != nil || l != want {
			t.Errorf("before accepting (proc %q): %+v, %v; want %+v", m.Proc, l, err, want)
		}
	}
	if diag.noDiag {
		t.Error("sock_diag failed on the host")
	}
	for range 2 {
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	want.AcceptQueue = 0
	for _, m := range []*Meter{&diag, &proc} {
		if l, err := m.sockets(); err != nil || l != want {
			t.Errorf("accepted (proc %q): %+v, %v; want %+v", m.Proc, l, err, want)
		}
	}
}
