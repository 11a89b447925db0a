package reconcile

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/popcorn-kernel/popcorn/ctl/internal/pcnl"
	"github.com/popcorn-kernel/popcorn/ctl/internal/snapbean"
)

// RouteProtocol marks the routes popcornd adds (ip route show proto 77),
// so it removes only its own.
const RouteProtocol = 77

// LinkKind is Snap Bean's rtnetlink kind.
const LinkKind = snapbean.Kind

// Kernel observes and changes this kernel: the messaging core over the
// popcorn family, devices, addresses and routes over rtnetlink.
type Kernel struct {
	Core *pcnl.Client
	rt   *netlink.Handle
	// Sys is where /proc/sys is; tests point it elsewhere.
	Sys string
}

// NewKernel opens an rtnetlink handle beside the core's client.
func NewKernel(core *pcnl.Client) (*Kernel, error) {
	rt, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("rtnetlink: %w", err)
	}
	return &Kernel{Core: core, rt: rt, Sys: "/proc/sys"}, nil
}

// Close closes the rtnetlink handle (not the core's client).
func (k *Kernel) Close() { k.rt.Close() }

// ourLabel marks an address of ours on a device that is not Snap Bean's.
func ourLabel(dev string) string { return dev + ":pcn" }

// Observe reads what the kernel holds of what want describes.
func (k *Kernel) Observe(want State) (State, error) {
	have := State{Self: -1, Nodes: map[int]Endpoint{}, Sysctls: map[string]string{}}
	nodes, err := k.Core.Nodes()
	if err != nil {
		return have, err
	}
	for _, n := range nodes {
		if n.Self {
			have.Self = n.ID
		} else {
			have.Nodes[n.ID] = Endpoint{n.Transport, n.Endpoint}
		}
	}
	if err := k.observeNet(&have, want); err != nil {
		return have, err
	}
	for key := range want.Sysctls {
		b, err := os.ReadFile(filepath.Join(k.Sys, key))
		if err == nil {
			have.Sysctls[key] = strings.TrimSpace(string(b))
		}
	}
	return have, nil
}

func (k *Kernel) observeNet(have *State, want State) error {
	links, err := k.rt.LinkList()
	if err != nil {
		return fmt.Errorf("list devices: %w", err)
	}
	names := map[int]string{}
	devs := map[string]bool{"lo": true}
	for _, a := range want.Addrs {
		devs[a.Dev] = true
	}
	for _, l := range links {
		a := l.Attrs()
		names[a.Index] = a.Name
		if l.Type() == LinkKind {
			have.Link = &Link{Name: a.Name, MTU: a.MTU, Up: a.Flags&net.FlagUp != 0}
			devs[a.Name] = true
		}
	}
	for _, l := range links {
		if devs[l.Attrs().Name] {
			if err := k.observeAddrs(have, l); err != nil {
				return err
			}
		}
	}
	routes, err := k.rt.RouteListFiltered(unix.AF_INET, &netlink.Route{Protocol: RouteProtocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return fmt.Errorf("list routes: %w", err)
	}
	for _, r := range routes {
		dst, _ := netip.ParsePrefix(r.Dst.String())
		via, _ := netip.AddrFromSlice(r.Gw.To4())
		have.Routes = append(have.Routes, Route{Dst: dst, Via: via, Dev: names[r.LinkIndex]})
	}
	return nil
}

func (k *Kernel) observeAddrs(have *State, l netlink.Link) error {
	name := l.Attrs().Name
	ours := l.Type() == LinkKind
	addrs, err := k.rt.AddrList(l, unix.AF_INET)
	if err != nil {
		return fmt.Errorf("list addresses of %s: %w", name, err)
	}
	for _, a := range addrs {
		if !ours && a.Label != ourLabel(name) {
			continue
		}
		ip, _ := netip.AddrFromSlice(a.IP.To4())
		bits, _ := a.Mask.Size()
		have.Addrs = append(have.Addrs, Addr{Dev: name, Prefix: netip.PrefixFrom(ip, bits)})
	}
	return nil
}

// Apply makes one change.
func (k *Kernel) Apply(s Step) error {
	switch s.Op {
	case OpSetSelf:
		return k.Core.AddSelf(s.Node)
	case OpAddNode:
		return k.Core.AddNode(s.Node, s.Endpoint.Transport, s.Endpoint.Endpoint)
	case OpDelNode:
		return k.Core.DelNode(s.Node)
	case OpAddLink:
		err := k.rt.LinkAdd(&netlink.GenericLink{LinkAttrs: netlink.LinkAttrs{Name: s.Link.Name}, LinkType: LinkKind})
		if errors.Is(err, unix.EOPNOTSUPP) {
			return errors.New("snapbean.ko is not loaded")
		}
		return err
	case OpSysctl:
		return os.WriteFile(filepath.Join(k.Sys, s.Key), []byte(s.Value+"\n"), 0)
	}
	return k.applyNet(s)
}

func (k *Kernel) applyNet(s Step) error {
	dev := ""
	switch {
	case s.Link != nil:
		dev = s.Link.Name
	case s.Addr != nil:
		dev = s.Addr.Dev
	case s.Route != nil:
		dev = s.Route.Dev
	}
	l, err := k.rt.LinkByName(dev)
	if err != nil {
		return fmt.Errorf("device %s: %w", dev, err)
	}
	switch s.Op {
	case OpDelLink:
		return k.rt.LinkDel(l)
	case OpSetMTU:
		return k.rt.LinkSetMTU(l, s.Link.MTU)
	case OpLinkUp:
		return k.rt.LinkSetUp(l)
	case OpAddAddr, OpDelAddr:
		a := &netlink.Addr{IPNet: ipNet(s.Addr.Prefix)}
		if l.Type() != LinkKind {
			a.Label = ourLabel(dev)
		}
		if s.Op == OpAddAddr {
			return k.rt.AddrAdd(l, a)
		}
		return k.rt.AddrDel(l, a)
	case OpAddRoute, OpDelRoute:
		r := &netlink.Route{Dst: ipNet(s.Route.Dst), Gw: s.Route.Via.AsSlice(),
			LinkIndex: l.Attrs().Index, Protocol: RouteProtocol}
		if s.Op == OpAddRoute {
			err := k.rt.RouteAdd(r)
			if errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("a route to %s that is not popcornd's is in the way", s.Route.Dst)
			}
			return err
		}
		return k.rt.RouteDel(r)
	}
	return fmt.Errorf("unknown step %q", s.Op)
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 32)}
}
