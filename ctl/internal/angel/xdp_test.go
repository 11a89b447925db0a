package angel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"runtime"
	"testing"

	"github.com/cilium/ebpf"
	vnl "github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Verdicts of an XDP program.
const (
	xdpPass     = 2
	xdpRedirect = 4
)

var (
	service   = netip.MustParseAddr("10.99.0.100")
	client    = netip.MustParseAddr("10.99.0.1")
	nicMAC    = []byte{0x52, 0x54, 0, 0x12, 0x34, 0x56}
	clientMAC = []byte{0x52, 0x54, 0, 0xab, 0xcd, 0xef}
)

const self = 0

// pkt describes a test packet: an IPv4 TCP segment unless changed.
type pkt struct {
	etherType    uint16
	proto        uint8
	src, dst     netip.Addr
	sport, dport uint16
	syn, ack     bool
	ihl          int    // the header length field, in words: 5 with no options
	fragOff      uint16 // flags and offset, host order
	cut          int    // bytes cut off the end
}

func tcpPkt(sport uint16, syn bool) pkt {
	return pkt{etherType: 0x0800, proto: 6, src: client, dst: service,
		sport: sport, dport: 80, syn: syn, ack: !syn, ihl: 5}
}

func (p pkt) bytes() []byte {
	b := append(append([]byte{}, nicMAC...), clientMAC...)
	b = binary.BigEndian.AppendUint16(b, p.etherType)
	if p.etherType == 0x86dd {
		return append(b, make([]byte, 60)...)
	}
	// An IHL under 5 still gets the addresses, where a reader finds them.
	ip := make([]byte, max(p.ihl, 5)*4)
	ip[0] = 0x40 | byte(p.ihl&0xf)
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)+20))
	binary.BigEndian.PutUint16(ip[6:], p.fragOff)
	ip[8] = 64
	ip[9] = p.proto
	s, d := p.src.As4(), p.dst.As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	tcp := make([]byte, 20)
	binary.BigEndian.PutUint16(tcp[0:], p.sport)
	binary.BigEndian.PutUint16(tcp[2:], p.dport)
	tcp[12] = 5 << 4
	if p.syn {
		tcp[13] |= 0x02
	}
	if p.ack {
		tcp[13] |= 0x10
	}
	b = append(append(b, ip...), tcp...)
	return b[:len(b)-p.cut]
}

// sbMAC is Snap Bean's MAC of a node.
func sbMAC(node byte) []byte { return []byte{0x02, 0x50, 0x43, 0x4e, 0x00, node} }

// steered is what a packet looks like after it was sent to node.
func steered(in []byte, node byte) []byte {
	out := bytes.Clone(in)
	copy(out[0:], sbMAC(node))
	copy(out[6:], sbMAC(self))
	return out
}

func open(t *testing.T) *Dataplane {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("loading BPF needs root")
	}
	d, err := Open("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Configure(Steering{Service: service, SnapBean: 7, Self: self}); err != nil {
		t.Fatal(err)
	}
	return d
}

func fill(node uint32) Table {
	t := make(Table, Buckets)
	for i := range t {
		t[i] = node
	}
	return t
}

func run(t *testing.T, d *Dataplane, in []byte) (uint32, []byte) {
	t.Helper()
	opts := ebpf.RunOptions{Data: in, DataOut: make([]byte, len(in)+256)}
	ret, err := d.Program().Run(&opts)
	if err != nil {
		t.Fatal(err)
	}
	return ret, opts.DataOut
}

func TestVerdicts(t *testing.T) {
	opts := tcpPkt(40000, false)
	opts.ihl = 7
	udp := tcpPkt(40000, false)
	udp.proto = 17
	other := tcpPkt(40000, true)
	other.dst = netip.MustParseAddr("10.99.0.7")
	arp := tcpPkt(40000, false)
	arp.etherType = 0x0806
	ipv6 := pkt{etherType: 0x86dd}
	frag := tcpPkt(40000, false)
	frag.fragOff = 0x2000
	later := tcpPkt(40000, false)
	later.fragOff = 185
	tiny := tcpPkt(40000, false)
	tiny.cut = 34
	noTCP := tcpPkt(40000, true)
	noTCP.cut = 1
	badIHL := tcpPkt(40000, true)
	badIHL.ihl = 4

	tests := []struct {
		name    string
		table   uint32 // every bucket names this node
		in      pkt
		verdict uint32
		node    byte // where a redirected frame goes
		ev      Events
	}{
		{name: "SYN, every bucket this kernel's", table: self, in: tcpPkt(40000, true), verdict: xdpPass},
		{name: "SYN, every bucket another's", table: 2, in: tcpPkt(40000, true), verdict: xdpRedirect, node: 2},
		{name: "unseen established flow follows the table", table: 1, in: tcpPkt(40001, false), verdict: xdpRedirect, node: 1},
		{name: "IP options", table: 2, in: opts, verdict: xdpRedirect, node: 2},
		{name: "UDP to the service", table: 2, in: udp, verdict: xdpPass},
		{name: "another address", table: 2, in: other, verdict: xdpPass},
		{name: "ARP", table: 2, in: arp, verdict: xdpPass},
		{name: "IPv6", table: 2, in: ipv6, verdict: xdpPass},
		{name: "first fragment", table: 2, in: frag, verdict: xdpPass, ev: Events{Fragments: 1}},
		{name: "later fragment", table: 2, in: later, verdict: xdpPass, ev: Events{Fragments: 1}},
		{name: "Ethernet header alone", table: 2, in: tiny, verdict: xdpPass},
		{name: "TCP header cut", table: 2, in: noTCP, verdict: xdpPass, ev: Events{Malformed: 1}},
		{name: "IHL under 5", table: 2, in: badIHL, verdict: xdpPass, ev: Events{Malformed: 1}},
		{name: "table names no node", table: MaxNodes, in: tcpPkt(40002, true), verdict: xdpPass, ev: Events{BadNode: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := open(t)
			// SetTable refuses a bad node: write the map as a buggy writer would.
			for i := range uint32(Buckets) {
				if err := d.objs.AngelBktV1.Update(i, tt.table, ebpf.UpdateAny); err != nil {
					t.Fatal(err)
				}
			}
			in := tt.in.bytes()
			verdict, out := run(t, d, in)
			if verdict != tt.verdict {
				t.Fatalf("verdict %d, want %d", verdict, tt.verdict)
			}
			want := in
			if verdict == xdpRedirect {
				want = steered(in, tt.node)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("frame out\n%x\nwant\n%x", out, want)
			}
			ev, err := d.Events()
			if err != nil {
				t.Fatal(err)
			}
			if ev != tt.ev {
				t.Errorf("events %+v, want %+v", ev, tt.ev)
			}
		})
	}
}

// A flow stays on its kernel when its bucket moves; new flows follow.
func TestFlowPinned(t *testing.T) {
	d := open(t)
	if err := d.SetTable(fill(2)); err != nil {
		t.Fatal(err)
	}
	syn := tcpPkt(40000, true).bytes()
	if v, out := run(t, d, syn); v != xdpRedirect || out[5] != 2 {
		t.Fatalf("SYN: verdict %d to node %d, want node 2", v, out[5])
	}
	if err := d.SetTable(fill(1)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []pkt{tcpPkt(40000, false), tcpPkt(40000, true)} {
		if v, out := run(t, d, p.bytes()); v != xdpRedirect || out[5] != 2 {
			t.Errorf("syn=%v of the pinned flow: verdict %d to node %d, want node 2", p.syn, v, out[5])
		}
	}
	if v, out := run(t, d, tcpPkt(40001, true).bytes()); v != xdpRedirect || out[5] != 1 {
		t.Errorf("new flow: verdict %d to node %d, want node 1", v, out[5])
	}
	stats, err := d.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if stats[2] != (NodeStats{NewFlows: 1, Packets: 3}) || stats[1] != (NodeStats{NewFlows: 1, Packets: 1}) {
		t.Errorf("stats node 1 %+v, node 2 %+v", stats[1], stats[2])
	}
}

// A SYN with another sequence number than the one that opened the
// pinned flow is a new connection on old ports: placed by the table.
func TestSYNReusesOldPorts(t *testing.T) {
	d := open(t)
	key := xdpAngelFlowKey{Saddr: addrBits(client), Sport: htons(40000), Dport: htons(80)}
	if err := d.objs.AngelFlowV1.Update(key, xdpAngelFlow{Node: 2, SynSeq: 12345}, ebpf.UpdateAny); err != nil {
		t.Fatal(err)
	}
	if err := d.SetTable(fill(1)); err != nil {
		t.Fatal(err)
	}
	if v, out := run(t, d, tcpPkt(40000, false).bytes()); v != xdpRedirect || out[5] != 2 {
		t.Errorf("ACK of the old flow: verdict %d to node %d, want node 2", v, out[5])
	}
	if v, out := run(t, d, tcpPkt(40000, true).bytes()); v != xdpRedirect || out[5] != 1 {
		t.Errorf("SYN reusing the ports: verdict %d to node %d, want node 1", v, out[5])
	}
}

func addrBits(a netip.Addr) uint32 {
	b := a.As4()
	return binary.NativeEndian.Uint32(b[:])
}

// The program's hash agrees with Bucket, so flows land where the table says.
func TestBucketHash(t *testing.T) {
	d := open(t)
	for port := uint16(30000); port < 30064; port++ {
		table := fill(1)
		table[Bucket(client, port, 80)] = 3
		if err := d.SetTable(table); err != nil {
			t.Fatal(err)
		}
		if v, out := run(t, d, tcpPkt(port, true).bytes()); v != xdpRedirect || out[5] != 3 {
			t.Fatalf("port %d: verdict %d to node %d, want node 3", port, v, out[5])
		}
	}
}

func TestServicePort(t *testing.T) {
	d := open(t)
	if err := d.Configure(Steering{Service: service, Port: 443, SnapBean: 7, Self: self}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetTable(fill(2)); err != nil {
		t.Fatal(err)
	}
	if v, _ := run(t, d, tcpPkt(40000, true).bytes()); v != xdpPass {
		t.Errorf("port 80 when the service is 443: verdict %d, want pass", v)
	}
	p := tcpPkt(40000, true)
	p.dport = 443
	if v, _ := run(t, d, p.bytes()); v != xdpRedirect {
		t.Errorf("port 443: verdict %d, want redirect", v)
	}
}

func TestNoService(t *testing.T) {
	d := open(t)
	if err := d.Configure(Steering{}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetTable(fill(2)); err != nil {
		t.Fatal(err)
	}
	if v, _ := run(t, d, tcpPkt(40000, true).bytes()); v != xdpPass {
		t.Errorf("verdict %d with no service, want pass", v)
	}
}

func TestRejects(t *testing.T) {
	d := open(t)
	for _, s := range []Steering{
		{Service: netip.MustParseAddr("2001:db8::1")},
		{Service: service, Self: MaxNodes},
	} {
		if err := d.Configure(s); err == nil {
			t.Errorf("Configure(%+v) accepted", s)
		}
	}
	bad := fill(1)
	bad[7] = MaxNodes
	for _, tab := range []Table{bad, fill(1)[:10]} {
		if err := d.SetTable(tab); err == nil {
			t.Errorf("SetTable of %d buckets accepted", len(tab))
		}
	}
	if got, err := d.Table(); err != nil || got[7] != 0 {
		t.Errorf("a refused table was written: bucket 7 is %d (%v)", got[7], err)
	}
	if err := d.Attach(1); err == nil {
		t.Error("Attach without a pin directory accepted")
	}
}

// bpffs mounts a BPF filesystem of the test's own.
func bpffs(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("loading BPF needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("bpf", dir, "bpf", 0, ""); err != nil {
		t.Skip("no bpffs:", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, 0) })
	return dir
}

// Maps pinned by one Dataplane are found by the next.
func TestPinnedMapsOutliveTheLoader(t *testing.T) {
	dir := bpffs(t)
	a, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetTable(fill(5)); err != nil {
		t.Fatal(err)
	}
	a.Close()
	b, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, err := b.Table()
	if err != nil || got[0] != 5 || got[Buckets-1] != 5 {
		t.Errorf("table after reload: %v, %v", got[:2], err)
	}
	if err := b.Detach(); err != nil {
		t.Errorf("Detach with nothing attached: %v", err)
	}
	want := Steering{Service: service, Port: 8080, SnapBean: 9, Self: 2}
	if err := b.Configure(want); err != nil {
		t.Fatal(err)
	}

	// A reader finds the maps alone, and the operator's overrides.
	r, err := OpenPinned(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, err := r.Steering(); err != nil || got != want {
		t.Errorf("steering %+v (%v), want %+v", got, err, want)
	}
	if err := r.SetOverride(3, Override{Mode: Drain, Weight: 5}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		node uint32
		o    Override
	}{{MaxNodes, Override{}}, {1, Override{Mode: Hold + 1}}} {
		if err := r.SetOverride(bad.node, bad.o); err == nil {
			t.Errorf("SetOverride(%d, %+v) accepted", bad.node, bad.o)
		}
	}
	o, err := b.Overrides()
	if err != nil || o[3] != (Override{Mode: Drain, Weight: 5}) || o[1] != (Override{}) {
		t.Errorf("overrides 1 %+v, 3 %+v (%v)", o[1], o[3], err)
	}
	if err := r.Attach(1); err == nil {
		t.Error("a reader attached a program it does not have")
	}
	if _, err := OpenPinned(t.TempDir()); !errors.Is(err, ErrNotRunning) {
		t.Errorf("OpenPinned of an empty directory: %v, want ErrNotRunning", err)
	}
}

// xdpProg is the id of the program attached to a device, 0 if none.
func xdpProg(t *testing.T, name string) uint32 {
	t.Helper()
	l, err := vnl.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	if x := l.Attrs().Xdp; x != nil && x.Attached {
		return x.ProgId
	}
	return 0
}

// The program attaches to a device in a namespace of the test's own, stays
// there when its loader exits, is replaced by the next loader, follows a
// change of device, and goes with Detach.
func TestAttach(t *testing.T) {
	dir := bpffs(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	defer netns.Set(orig)
	la := vnl.NewLinkAttrs()
	la.Name = "pcxa"
	if err := vnl.LinkAdd(&vnl.Veth{LinkAttrs: la, PeerName: "pcxb"}); err != nil {
		t.Skipf("no veth here: %v", err)
	}
	a, _ := vnl.LinkByName("pcxa")
	b, _ := vnl.LinkByName("pcxb")

	first, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Attach(a.Attrs().Index); err != nil {
		t.Fatal(err)
	}
	first.Close()
	id := xdpProg(t, "pcxa")
	if id == 0 {
		t.Fatal("not attached once its loader closed")
	}
	second, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if err := second.Attach(a.Attrs().Index); err != nil {
		t.Fatal(err)
	}
	if got := xdpProg(t, "pcxa"); got == 0 || got == id {
		t.Errorf("program %d after a new loader attached, want a new one (was %d)", got, id)
	}
	if err := second.Attach(b.Attrs().Index); err != nil {
		t.Fatal(err)
	}
	if xdpProg(t, "pcxa") != 0 || xdpProg(t, "pcxb") == 0 {
		t.Error("attaching to another device left the old one steered or the new one not")
	}
	if err := second.Detach(); err != nil {
		t.Fatal(err)
	}
	if xdpProg(t, "pcxb") != 0 {
		t.Error("still attached after Detach")
	}
}
