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

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
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

	busy, total uint64 // /proc/stat at the last reading
	noDiag      bool   // sock_diag failed once: /proc/net/tcp from then on
}

// Read measures the load now. The CPU's busy fraction is over the time
// since the previous Read (0 on the first).
func (m *Meter) Read() (Load, error) {
	l, err := m.sockets()
	if err != nil {
		return l, err
	}
	busy, err := m.readCPU()
	l.CPUBusy = busy
	return l, err
}

// sockets counts the service's sockets through sock_diag, where the
// kernel leaves out the thousands of TIME_WAIT sockets a busy server
// holds; through /proc/net/tcp where there is no sock_diag (tcp_diag not
// loaded, or a fake /proc).
func (m *Meter) sockets() (Load, error) {
	var l Load
	if m.Proc == "" && !m.noDiag {
		err := m.diag(&l)
		if err == nil {
			return l, nil
		}
		m.noDiag = true
		l = Load{}
	}
	for _, f := range []string{"net/tcp", "net/tcp6"} {
		if err := m.readTCP(m.path(f), &l); err != nil {
			return l, err
		}
	}
	return l, nil
}

// Requests and answers of sock_diag for TCP (linux/inet_diag.h).
const (
	sockDiagByFamily = 20 // SOCK_DIAG_BY_FAMILY
	diagReqLen       = 56 // struct inet_diag_req_v2
	diagMsgLen       = 72 // struct inet_diag_msg
)

func (m *Meter) diag(l *Load) error {
	c, err := netlink.Dial(unix.NETLINK_SOCK_DIAG, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		req := make([]byte, diagReqLen)
		req[0], req[1] = family, unix.IPPROTO_TCP
		binary.NativeEndian.PutUint32(req[4:], 1<<tcpListen|1<<tcpEstablished)
		msgs, err := c.Execute(netlink.Message{
			Header: netlink.Header{Type: sockDiagByFamily, Flags: netlink.Request | netlink.Dump},
			Data:   req,
		})
		if err != nil {
			return fmt.Errorf("angel: sock_diag: %w", err)
		}
		for _, msg := range msgs {
			if err := m.countDiag(msg.Data, l); err != nil {
				return err
			}
		}
	}
	return nil
}

// countDiag adds one socket of a sock_diag answer: a listener's rqueue
// is its accept queue's length.
func (m *Meter) countDiag(d []byte, l *Load) error {
	if len(d) < diagMsgLen {
		return fmt.Errorf("angel: a sock_diag answer of %d bytes", len(d))
	}
	port := binary.BigEndian.Uint16(d[4:])
	if m.Port != 0 && port != m.Port {
		return nil
	}
	var addr netip.Addr
	if d[0] == unix.AF_INET {
		addr = netip.AddrFrom4([4]byte(d[8:12]))
	} else {
		addr = netip.AddrFrom16([16]byte(d[8:24])).Unmap()
	}
	switch {
	case d[1] == tcpListen && (addr == m.Service || addr.IsUnspecified()):
		l.AcceptQueue += binary.NativeEndian.Uint32(d[56:])
	case d[1] == tcpEstablished && addr == m.Service:
		l.Established++
	}
	return nil
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
	busy, total, err := cpuTimes(b)
	if err != nil {
		return 0, err
	}
	frac := 0.0
	if m.total != 0 && total > m.total {
		frac = float64(busy-m.busy) / float64(total-m.total)
	}
	m.busy, m.total = busy, total
	return min(max(frac, 0), 1), nil
}

// cpuTimes reads the "cpu" line of /proc/stat, in ticks: the time of
// processes (user, nice, system), and all time. Interrupts and softirqs
// are not the service's: on the NIC owner they are mostly the forwarding
// of every kernel's packets, work that follows the NIC, not where a
// connection is served.
func cpuTimes(stat []byte) (busy, total uint64, err error) {
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
		if i < 3 {
			busy += v
		}
	}
	return busy, total, nil
}
