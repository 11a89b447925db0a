package angel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// PinDir is where the data plane's maps and link live, so that the table
// and pinned flows outlive a restart of popcornd.
const PinDir = "/sys/fs/bpf/popcorn"

// linkPin names the XDP link's pin; versioned like the maps.
const linkPin = "angel_xdp_v1"

// MaxNodes is the node limit of the messaging core and of the maps.
const MaxNodes = 64

// Steering is what the data plane must know of this kernel.
type Steering struct {
	Service  netip.Addr // IPv4 service address; the zero Addr steers nothing
	Port     uint16     // 0: every TCP port of the address
	SnapBean int        // ifindex of this kernel's Snap Bean device
	Self     uint32     // this kernel's node id
}

// NodeStats are a node's counters, summed over CPUs.
type NodeStats struct {
	NewFlows uint64 // SYNs that opened a flow to the node
	Packets  uint64 // service packets steered to the node
}

// Events count packets that went to no node.
type Events struct {
	Fragments, Malformed, BadNode uint64
}

// Dataplane is Angel's XDP program and its maps.
type Dataplane struct {
	objs   xdpObjects
	maps   *xdpMaps // objs' maps, or with OpenPinned the pinned ones alone
	pinDir string
	link   link.Link
}

// Open loads the program. With a pinDir, its maps are those pinned there
// (created and pinned if absent); with "", they are private.
func Open(pinDir string) (*Dataplane, error) {
	spec, err := loadXdp()
	if err != nil {
		return nil, err
	}
	var opts ebpf.CollectionOptions
	if pinDir == "" {
		for _, m := range spec.Maps {
			m.Pinning = ebpf.PinNone
		}
	} else {
		if err := os.MkdirAll(pinDir, 0o700); err != nil {
			return nil, err
		}
		opts.Maps.PinPath = pinDir
	}
	d := &Dataplane{pinDir: pinDir}
	if err := spec.LoadAndAssign(&d.objs, &opts); err != nil {
		return nil, fmt.Errorf("angel: loading the XDP program: %w", err)
	}
	d.maps = &d.objs.xdpMaps
	return d, nil
}

// ErrNotRunning: no data plane has pinned its maps here.
var ErrNotRunning = errors.New("angel is not running on this kernel")

// OpenPinned opens the maps a running data plane pinned in pinDir, to
// read them or to set overrides, without loading a program.
func OpenPinned(pinDir string) (*Dataplane, error) {
	m := &xdpMaps{}
	for name, dst := range map[string]**ebpf.Map{
		xdpMapAngelCfgV1: &m.AngelCfgV1, xdpMapAngelBktV1: &m.AngelBktV1,
		xdpMapAngelFlowV1: &m.AngelFlowV1, xdpMapAngelStatV1: &m.AngelStatV1,
		xdpMapAngelEventV1: &m.AngelEventV1, xdpMapAngelCtlV1: &m.AngelCtlV1,
	} {
		mp, err := ebpf.LoadPinnedMap(filepath.Join(pinDir, name), nil)
		if errors.Is(err, os.ErrNotExist) {
			m.Close()
			return nil, fmt.Errorf("%w (no %s in %s)", ErrNotRunning, name, pinDir)
		}
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("angel: %s: %w", name, err)
		}
		*dst = mp
	}
	return &Dataplane{maps: m, pinDir: pinDir}, nil
}

// Close releases this process's handles; what is pinned stays.
func (d *Dataplane) Close() error {
	var errs []error
	if d.link != nil {
		errs = append(errs, d.link.Close())
	}
	if d.objs.Angel == nil {
		return errors.Join(append(errs, d.maps.Close())...)
	}
	return errors.Join(append(errs, d.objs.Close())...)
}

// Program is the XDP program, for tests that run it.
func (d *Dataplane) Program() *ebpf.Program { return d.objs.Angel }

// Configure points the program at the service, or with a zero Service
// makes it pass everything.
func (d *Dataplane) Configure(s Steering) error {
	var cfg xdpAngelCfg
	if s.Service.IsValid() {
		if !s.Service.Is4() {
			return fmt.Errorf("angel: service address %s: only IPv4 is steered", s.Service)
		}
		if s.Self >= MaxNodes {
			return fmt.Errorf("angel: node id %d out of range 0..%d", s.Self, MaxNodes-1)
		}
		a := s.Service.As4()
		cfg.ServiceAddr = binary.NativeEndian.Uint32(a[:])
		cfg.ServicePort = htons(s.Port)
		cfg.SbIfindex = uint32(s.SnapBean)
		cfg.Self = s.Self
	}
	return d.maps.AngelCfgV1.Update(uint32(0), cfg, ebpf.UpdateAny)
}

// Steering reads what the data plane was configured with; a zero
// Steering if never.
func (d *Dataplane) Steering() (Steering, error) {
	var cfg xdpAngelCfg
	if err := d.maps.AngelCfgV1.Lookup(uint32(0), &cfg); err != nil || cfg.ServiceAddr == 0 {
		return Steering{}, err
	}
	var a [4]byte
	binary.NativeEndian.PutUint32(a[:], cfg.ServiceAddr)
	return Steering{Service: netip.AddrFrom4(a), Port: htons(cfg.ServicePort),
		SnapBean: int(cfg.SbIfindex), Self: cfg.Self}, nil
}

// Override is an operator's word on a node: its Mode, and a weight
// that replaces the configuration's unless 0.
type Override struct {
	Mode   Mode
	Weight uint32
}

// SetOverride records an override for the policy to follow.
func (d *Dataplane) SetOverride(node uint32, o Override) error {
	if node >= MaxNodes {
		return fmt.Errorf("angel: node id %d out of range 0..%d", node, MaxNodes-1)
	}
	if o.Mode < Auto || o.Mode > Hold {
		return fmt.Errorf("angel: mode %d: want auto, drain or hold", o.Mode)
	}
	return d.maps.AngelCtlV1.Update(node, xdpAngelCtl{Mode: uint32(o.Mode), Weight: o.Weight}, ebpf.UpdateAny)
}

// Overrides reads every node's override.
func (d *Dataplane) Overrides() ([MaxNodes]Override, error) {
	var out [MaxNodes]Override
	for i := range out {
		var c xdpAngelCtl
		if err := d.maps.AngelCtlV1.Lookup(uint32(i), &c); err != nil {
			return out, err
		}
		out[i] = Override{Mode: Mode(min(c.Mode, uint32(Hold))), Weight: c.Weight}
	}
	return out, nil
}

func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

// SetTable writes the bucket table; a table of another length or one
// that names no node is refused before anything is written.
func (d *Dataplane) SetTable(t Table) error {
	if len(t) != Buckets {
		return fmt.Errorf("angel: a table has %d buckets, not %d", Buckets, len(t))
	}
	keys := make([]uint32, Buckets)
	for i, n := range t {
		if n >= MaxNodes {
			return fmt.Errorf("angel: bucket %d names node %d, out of range 0..%d", i, n, MaxNodes-1)
		}
		keys[i] = uint32(i)
	}
	_, err := d.maps.AngelBktV1.BatchUpdate(keys, []uint32(t), nil)
	return err
}

// Table reads the bucket table.
func (d *Dataplane) Table() (Table, error) {
	t := make(Table, Buckets)
	for i := range t {
		if err := d.maps.AngelBktV1.Lookup(uint32(i), &t[i]); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Stats sums each node's counters over the CPUs.
func (d *Dataplane) Stats() ([MaxNodes]NodeStats, error) {
	var out [MaxNodes]NodeStats
	var per []xdpAngelNodeStats
	for i := range out {
		if err := d.maps.AngelStatV1.Lookup(uint32(i), &per); err != nil {
			return out, err
		}
		for _, s := range per {
			out[i].NewFlows += s.NewFlows
			out[i].Packets += s.Packets
		}
	}
	return out, nil
}

// Events sums the packets that went to no node over the CPUs.
func (d *Dataplane) Events() (Events, error) {
	var ev Events
	for i, n := range []*uint64{&ev.Fragments, &ev.Malformed, &ev.BadNode} {
		var per []uint64
		if err := d.maps.AngelEventV1.Lookup(xdpAngelEvent(i), &per); err != nil {
			return ev, err
		}
		for _, v := range per {
			*n += v
		}
	}
	return ev, nil
}

// Attach runs the program on the NIC. The link is pinned: the program
// stays attached while popcornd restarts, and a new one replaces it.
func (d *Dataplane) Attach(ifindex int) error {
	if d.pinDir == "" || d.objs.Angel == nil {
		return errors.New("angel: attaching needs a program loaded with a pin directory")
	}
	if d.link != nil {
		d.link.Close()
		d.link = nil
	}
	pin := filepath.Join(d.pinDir, linkPin)
	if l, err := link.LoadPinnedLink(pin, nil); err == nil {
		if linkIfindex(l) == ifindex {
			d.link = l
			return d.replace()
		}
		// The NIC changed: the old one is no longer steered.
		err := errors.Join(l.Unpin(), l.Close())
		if err != nil {
			return fmt.Errorf("angel: detaching from the old NIC: %w", err)
		}
	}
	l, err := link.AttachXDP(link.XDPOptions{Program: d.objs.Angel, Interface: ifindex})
	if err != nil {
		return fmt.Errorf("angel: attaching XDP to ifindex %d: %w", ifindex, err)
	}
	if err := l.Pin(pin); err != nil {
		l.Close()
		return fmt.Errorf("angel: pinning the XDP link: %w", err)
	}
	d.link = l
	return nil
}

func linkIfindex(l link.Link) int {
	info, err := l.Info()
	if err != nil || info.XDP() == nil {
		return 0
	}
	return int(info.XDP().Ifindex)
}

func (d *Dataplane) replace() error {
	if err := d.link.Update(d.objs.Angel); err != nil {
		return fmt.Errorf("angel: replacing the attached program: %w", err)
	}
	return nil
}

// Detach takes the program off the NIC and forgets the pinned link.
func (d *Dataplane) Detach() error {
	if d.link == nil {
		l, err := link.LoadPinnedLink(filepath.Join(d.pinDir, linkPin), nil)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		d.link = l
	}
	err := errors.Join(d.link.Unpin(), d.link.Close())
	d.link = nil
	return err
}

// Bucket is the bucket the data plane hashes a flow from saddr:sport to
// the service's dport into (angel_bucket() in ebpf/angel.bpf.c).
func Bucket(saddr netip.Addr, sport, dport uint16) int {
	a := saddr.As4()
	h := binary.BigEndian.Uint32(a[:]) * 0x9e3779b1
	h ^= uint32(sport)<<16 | uint32(dport)
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return int(h % Buckets)
}
