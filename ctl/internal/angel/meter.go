package angel

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// TCP states as /proc/net/tcp numbers them.
const (
	tcpEstablished = 0x01
	tcpListen      = 0x0a
)

// Meter measures a kernel's load for the service: the accept queues and
// established connections of its TCP sockets, and the CPU's busy
// fraction since the last reading.
type Meter struct {
	Service netip.Addr // the service address
	Port    uint16     // the service's port; 0: every port
	Proc    string     // where procfs is; "" is /proc

	idle, total uint64 // /proc/stat at the last reading
}

// Read measures the load now. The CPU's busy fraction is over the time
// since the previous Read (0 on the first).
func (m *Meter) Read() (Load, error) {
	var l Load
	for _, f := range []string{"net/tcp", "net/tcp6"} {
		if err := m.readTCP(m.path(f), &l); err != nil {
			return l, err
		}
	}
	busy, err := m.readCPU()
	l.CPUBusy = busy
	return l, err
}

func (m *Meter) path(f string) string {
	if m.Proc == "" {
		return "/proc/" + f
	}
	return m.Proc + "/" + f
}

func (m *Meter) readTCP(path string, l *Load) error {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil // no IPv6 in this kernel
	}
	if err != nil {
		return err
	}
	defer f.Close()
	return m.countTCP(f, l)
}

// countTCP adds up the service's sockets of one /proc/net/tcp{,6} table:
// a listener's rx_queue is its accept queue's length.
func (m *Meter) countTCP(r io.Reader, l *Load) error {
	sc := bufio.NewScanner(r)
	sc.Scan() // the header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			return fmt.Errorf("angel: a /proc/net/tcp line of %d fields", len(f))
		}
		addr, port, err := procAddr(f[1])
		if err != nil {
			return err
		}
		if m.Port != 0 && port != m.Port {
			continue
		}
		state, err := strconv.ParseUint(f[3], 16, 8)
		if err != nil {
			return fmt.Errorf("angel: socket state %q: %w", f[3], err)
		}
		switch {
		case state == tcpListen && (addr == m.Service || addr.IsUnspecified()):
			_, rx, _ := strings.Cut(f[4], ":")
			q, err := strconv.ParseUint(rx, 16, 32)
			if err != nil {
				return fmt.Errorf("angel: queue %q: %w", f[4], err)
			}
			l.AcceptQueue += uint32(q)
		case state == tcpEstablished && addr == m.Service:
			l.Established++
		}
	}
	return sc.Err()
}

// procAddr reads "0100007F:0050": an address as the kernel's words
// (native order) in hex, then the port; an IPv4-mapped IPv6 address
// comes back as IPv4.
func procAddr(s string) (netip.Addr, uint16, error) {
	a, p, ok := strings.Cut(s, ":")
	raw, err := hex.DecodeString(a)
	if !ok || err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.Addr{}, 0, fmt.Errorf("angel: socket address %q", s)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("angel: socket port %q", s)
	}
	var b [16]byte
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	if len(raw) == 4 {
		return netip.AddrFrom4([4]byte(b[:4])), uint16(port), nil
	}
	return netip.AddrFrom16(b).Unmap(), uint16(port), nil
}

// readCPU is the busy fraction of all CPUs since the last call.
func (m *Meter) readCPU() (float64, error) {
	b, err := os.ReadFile(m.path("stat"))
	if err != nil {
		return 0, err
	}
	idle, total, err := cpuTimes(b)
	if err != nil {
		return 0, err
	}
	busy := 0.0
	if d := total - m.total; m.total != 0 && total > m.total {
		busy = 1 - float64(idle-m.idle)/float64(d)
	}
	m.idle, m.total = idle, total
	return min(max(busy, 0), 1), nil
}

// cpuTimes reads the "cpu" line of /proc/stat: idle (with iowait) and
// all time, in ticks.
func cpuTimes(stat []byte) (idle, total uint64, err error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("angel: /proc/stat begins %q", line)
	}
	// user nice system idle iowait irq softirq steal; guest time is in user.
	for i, s := range f[1:min(len(f), 9)] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("angel: /proc/stat field %q", s)
		}
		total += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return idle, total, nil
}
