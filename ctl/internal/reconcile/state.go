// Package reconcile turns the machine's description into this kernel's
// state: Desired derives what the kernel should hold, Plan the ordered
// changes from what it holds, and an Applier carries them out. Plan is
// pure; only Observe and Apply touch the kernel.
package reconcile

import (
	"fmt"
	"net/netip"

	"github.com/popcorn-kernel/popcorn/ctl/internal/config"
)

// Endpoint is how the messaging core reaches a node.
type Endpoint struct {
	Transport string `json:"transport"`
	Endpoint  string `json:"endpoint"`
}

// Route is a route of ours: to Dst through Via on Dev.
type Route struct {
	Dst netip.Prefix `json:"dst"`
	Via netip.Addr   `json:"via"`
	Dev string       `json:"dev"`
}

// Addr is an address of ours on a device.
type Addr struct {
	Dev    string       `json:"dev"`
	Prefix netip.Prefix `json:"prefix"`
}

// Link is Snap Bean's device.
type Link struct {
	Name string `json:"name"`
	MTU  int    `json:"mtu"`
	Up   bool   `json:"up"`
}

// State is what a kernel holds of what popcornd manages: its node id
// (-1: none), the other nodes, Snap Bean's device, and the addresses,
// routes and sysctls popcornd sets. Addrs and Routes hold only ours
// (labelled, and of our routing protocol): others are left alone.
type State struct {
	Self    int               `json:"self"`
	Nodes   map[int]Endpoint  `json:"nodes"`
	Link    *Link             `json:"link,omitempty"`
	Addrs   []Addr            `json:"addrs,omitempty"`
	Routes  []Route           `json:"routes,omitempty"`
	Sysctls map[string]string `json:"sysctls,omitempty"`
}

// Desired is what the kernel that is node self should hold under cfg.
func Desired(cfg *config.Config, self int) (State, error) {
	if _, ok := cfg.Node(self); !ok {
		return State{}, fmt.Errorf("this kernel is node %d, which the file does not name", self)
	}
	st := State{Self: self, Nodes: map[int]Endpoint{}, Sysctls: map[string]string{}}
	for _, n := range cfg.Nodes {
		if n.ID == self {
			continue
		}
		tr, ep := n.Transport()
		st.Nodes[n.ID] = Endpoint{tr, ep}
	}
	b := cfg.SnapBean
	if b != nil {
		st.Link = &Link{Name: b.Device, MTU: b.MTU, Up: true}
		st.Addrs = append(st.Addrs, Addr{b.Device, netip.PrefixFrom(b.BeanAddr(self), b.Subnet.Bits())})
	}
	if s := cfg.Service; s != nil {
		st.Addrs = append(st.Addrs, Addr{"lo", netip.PrefixFrom(s.Address, 32)})
		if b != nil {
			desiredService(&st, s, b)
		}
	}
	return st, nil
}

// desiredService: the owner is the others' gateway and forwards their
// replies (whose source, the service address, is also its own); the
// others route the clients' networks through it and keep the service
// address out of their ARP on sb0.
func desiredService(st *State, s *config.Service, b *config.Bean) {
	conf := "net/ipv4/conf/" + b.Device + "/"
	if s.Owner == st.Self {
		st.Addrs = append(st.Addrs, Addr{b.Device, netip.PrefixFrom(b.Gateway, b.Subnet.Bits())})
		st.Sysctls["net/ipv4/ip_forward"] = "1"
		st.Sysctls[conf+"accept_local"] = "1"
		st.Sysctls[conf+"rp_filter"] = "0"
		st.Sysctls["net/ipv4/conf/all/rp_filter"] = "0"
		return
	}
	st.Sysctls[conf+"arp_announce"] = "2"
	for _, c := range s.Clients {
		st.Routes = append(st.Routes, Route{Dst: c, Via: b.Gateway, Dev: b.Device})
	}
}
