// Package snapbean reads the state and counters of this kernel's Snap
// Bean device over rtnetlink.
package snapbean

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Kind is the device's rtnetlink kind.
const Kind = "snapbean"

// Status is the device at a glance.
type Status struct {
	Name      string `json:"name"`
	Up        bool   `json:"up"`
	Carrier   bool   `json:"carrier"`
	MTU       int    `json:"mtu"`
	RxPackets uint64 `json:"rx_packets"`
	RxBytes   uint64 `json:"rx_bytes"`
	RxDropped uint64 `json:"rx_dropped"`
	TxPackets uint64 `json:"tx_packets"`
	TxBytes   uint64 `json:"tx_bytes"`
	TxDropped uint64 `json:"tx_dropped"`
}

// Get returns the snapbean device, or nil when this kernel has none.
func Get() (*Status, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("rtnetlink: %w", err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	for _, l := range links {
		if l.Type() == Kind {
			return status(l.Attrs()), nil
		}
	}
	return nil, nil
}

func status(a *netlink.LinkAttrs) *Status {
	s := &Status{Name: a.Name, Up: a.Flags&net.FlagUp != 0, MTU: a.MTU,
		Carrier: a.OperState == netlink.OperUp}
	if st := a.Statistics; st != nil {
		s.RxPackets, s.RxBytes, s.RxDropped = st.RxPackets, st.RxBytes, st.RxDropped
		s.TxPackets, s.TxBytes, s.TxDropped = st.TxPackets, st.TxBytes, st.TxDropped
	}
	return s
}
