// Package config reads popcornd's description of the machine: its
// kernels, how each is reached, which one owns the NIC, the service
// address and Snap Bean's addressing. Parse reports every mistake at once
// as FILE:LINE:COL: what is wrong, and returns a config only when there
// is none.
package config

import (
	"net/netip"
	"strconv"
)

// Version is the only layout of the file this package reads.
const Version = 1

// MaxNodes is the messaging core's node limit: ids are 0..MaxNodes-1.
const MaxNodes = 64

// MaxShmPeers is the shared-memory transport's limit: peer ids 0..7.
const MaxShmPeers = 8

// Config is a whole file, checked.
type Config struct {
	Version  int      `json:"version"`
	Self     Self     `json:"self"`
	Nodes    []Node   `json:"nodes"`
	Service  *Service `json:"service,omitempty"`
	SnapBean *Bean    `json:"snapbean,omitempty"`
}

// Self says which node this kernel is: a fixed id, or the node whose shm
// peer id is this kernel's on the window (FromWindow).
type Self struct {
	ID         *int   `json:"id,omitempty"`
	FromWindow bool   `json:"from_window,omitempty"`
	Window     string `json:"window,omitempty"` // PCI address; "" is the only window
}

// Node is one kernel of the machine.
type Node struct {
	ID        int        `json:"id"`
	Name      string     `json:"name"`
	Shm       *Shm       `json:"shm,omitempty"`
	TCP       string     `json:"tcp,omitempty"` // host:port
	Prefer    string     `json:"prefer,omitempty"`
	Partition *Partition `json:"partition,omitempty"`
}

// Shm reaches a node through the shared-memory window.
type Shm struct {
	Peer int `json:"peer"`
}

// Partition is what a kernel owns. Informational for kernels already
// booted; Weight is the balancer's share for this kernel.
type Partition struct {
	CPUs    string   `json:"cpus,omitempty"`
	Memory  string   `json:"memory,omitempty"`
	Devices []string `json:"devices,omitempty"`
	Weight  int      `json:"weight"`
}

// Service is the one address every kernel serves; Owner's NIC answers
// ARP for it and passes its traffic to the others. With a NIC, the
// owner's popcornd runs Angel there, balancing new TCP connections to
// Port (0: every port) over the kernels.
type Service struct {
	Address netip.Addr     `json:"address"`
	Owner   int            `json:"owner"`
	NIC     string         `json:"nic,omitempty"`
	Port    uint16         `json:"port,omitempty"`
	Clients []netip.Prefix `json:"clients,omitempty"`
}

// Bean is Snap Bean's addressing: node N's sb0 has Subnet's address N+1,
// and the NIC owner also has Gateway, where the others send replies.
type Bean struct {
	Device  string       `json:"device"`
	Subnet  netip.Prefix `json:"subnet"`
	Gateway netip.Addr   `json:"gateway"`
	MTU     int          `json:"mtu"`
}

// Node returns the node with id, if the file has it.
func (c *Config) Node(id int) (Node, bool) {
	for _, n := range c.Nodes {
		if n.ID == id {
			return n, true
		}
	}
	return Node{}, false
}

// Transport is the transport and endpoint through which this node is
// reached: its preferred one, else shm, else tcp.
func (n Node) Transport() (transport, endpoint string) {
	switch {
	case n.Shm != nil && n.Prefer != "tcp":
		return "shm", strconv.Itoa(n.Shm.Peer)
	case n.TCP != "":
		return "tcp", n.TCP
	}
	return "", ""
}

// BeanAddr is node id's address on sb0.
func (b *Bean) BeanAddr(id int) netip.Addr {
	a := b.Subnet.Masked().Addr()
	for i := 0; i <= id; i++ {
		a = a.Next()
	}
	return a
}

// SelfByPeer is the node whose shm peer id is peer.
func (c *Config) SelfByPeer(peer int) (int, bool) {
	for _, n := range c.Nodes {
		if n.Shm != nil && n.Shm.Peer == peer {
			return n.ID, true
		}
	}
	return 0, false
}
