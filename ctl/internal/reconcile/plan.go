package reconcile

import (
	"fmt"
	"maps"
	"slices"
)

// Op is one kind of change.
type Op string

// The changes, in the order a plan makes them: the node id first (Snap
// Bean needs it), nodes removed before nodes added (a changed endpoint is
// both), then the device, its addresses, routes through it and sysctls
// that name it.
const (
	OpSetSelf  Op = "set-self"
	OpDelNode  Op = "del-node"
	OpAddNode  Op = "add-node"
	OpDelLink  Op = "del-link"
	OpAddLink  Op = "add-link"
	OpSetMTU   Op = "set-mtu"
	OpLinkUp   Op = "link-up"
	OpDelRoute Op = "del-route"
	OpDelAddr  Op = "del-addr"
	OpAddAddr  Op = "add-addr"
	OpAddRoute Op = "add-route"
	OpSysctl   Op = "sysctl"
)

// Step is one change; which fields matter depends on Op.
type Step struct {
	Op       Op        `json:"op"`
	Node     int       `json:"node,omitempty"`
	Endpoint *Endpoint `json:"endpoint,omitempty"`
	Link     *Link     `json:"link,omitempty"`
	Addr     *Addr     `json:"addr,omitempty"`
	Route    *Route    `json:"route,omitempty"`
	Key      string    `json:"key,omitempty"`
	Value    string    `json:"value,omitempty"`
}

func (s Step) String() string {
	switch s.Op {
	case OpSetSelf:
		return fmt.Sprintf("set this kernel's node id to %d", s.Node)
	case OpDelNode:
		return fmt.Sprintf("remove node %d", s.Node)
	case OpAddNode:
		return fmt.Sprintf("add node %d over %s endpoint %s", s.Node, s.Endpoint.Transport, s.Endpoint.Endpoint)
	case OpDelLink:
		return fmt.Sprintf("delete device %s", s.Link.Name)
	case OpAddLink:
		return fmt.Sprintf("create device %s (snapbean)", s.Link.Name)
	case OpSetMTU:
		return fmt.Sprintf("set %s mtu %d", s.Link.Name, s.Link.MTU)
	case OpLinkUp:
		return fmt.Sprintf("set %s up", s.Link.Name)
	case OpDelAddr:
		return fmt.Sprintf("remove address %s from %s", s.Addr.Prefix, s.Addr.Dev)
	case OpAddAddr:
		return fmt.Sprintf("add address %s to %s", s.Addr.Prefix, s.Addr.Dev)
	case OpDelRoute:
		return fmt.Sprintf("remove route %s via %s dev %s", s.Route.Dst, s.Route.Via, s.Route.Dev)
	case OpAddRoute:
		return fmt.Sprintf("add route %s via %s dev %s", s.Route.Dst, s.Route.Via, s.Route.Dev)
	case OpSysctl:
		return fmt.Sprintf("sysctl %s=%s", s.Key, s.Value)
	}
	return string(s.Op)
}

// ErrSelfChanged means the kernel already has another node id: the core
// keeps it until popcorn_msg is reloaded.
type ErrSelfChanged struct{ Have, Want int }

func (e *ErrSelfChanged) Error() string {
	return fmt.Sprintf("this kernel is node %d, the file makes it node %d: reload popcorn_msg to change it", e.Have, e.Want)
}

// Plan is the ordered changes that turn have into want; none when they
// agree.
func Plan(want, have State) ([]Step, error) {
	if have.Self >= 0 && have.Self != want.Self {
		return nil, &ErrSelfChanged{have.Self, want.Self}
	}
	var steps []Step
	if have.Self < 0 {
		steps = append(steps, Step{Op: OpSetSelf, Node: want.Self})
	}
	steps = append(steps, planNodes(want.Nodes, have.Nodes)...)
	steps = append(steps, planLink(want.Link, have.Link)...)
	steps = append(steps, planAddrs(want, have)...)
	for _, k := range slices.Sorted(maps.Keys(want.Sysctls)) {
		if have.Sysctls[k] != want.Sysctls[k] {
			steps = append(steps, Step{Op: OpSysctl, Key: k, Value: want.Sysctls[k]})
		}
	}
	return steps, nil
}

func planNodes(want, have map[int]Endpoint) []Step {
	var del, add []Step
	for _, id := range slices.Sorted(maps.Keys(have)) {
		if w, ok := want[id]; !ok || w != have[id] {
			del = append(del, Step{Op: OpDelNode, Node: id})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(want)) {
		if h, ok := have[id]; !ok || h != want[id] {
			ep := want[id]
			add = append(add, Step{Op: OpAddNode, Node: id, Endpoint: &ep})
		}
	}
	return append(del, add...)
}

func planLink(want, have *Link) []Step {
	switch {
	case want == nil && have == nil:
		return nil
	case want == nil:
		return []Step{{Op: OpDelLink, Link: have}}
	case have == nil:
		return []Step{{Op: OpAddLink, Link: want}, {Op: OpSetMTU, Link: want}, {Op: OpLinkUp, Link: want}}
	case have.Name != want.Name:
		return []Step{{Op: OpDelLink, Link: have}, {Op: OpAddLink, Link: want},
			{Op: OpSetMTU, Link: want}, {Op: OpLinkUp, Link: want}}
	}
	var steps []Step
	if have.MTU != want.MTU {
		steps = append(steps, Step{Op: OpSetMTU, Link: want})
	}
	if !have.Up {
		steps = append(steps, Step{Op: OpLinkUp, Link: want})
	}
	return steps
}

// planAddrs: routes of ours that go, then addresses, then what comes.
// What lived on a deleted device went with it.
func planAddrs(want, have State) []Step {
	gone := func(dev string) bool {
		return have.Link != nil && dev == have.Link.Name &&
			(want.Link == nil || want.Link.Name != dev)
	}
	var steps []Step
	for _, r := range have.Routes {
		if !slices.Contains(want.Routes, r) && !gone(r.Dev) {
			steps = append(steps, Step{Op: OpDelRoute, Route: &r})
		}
	}
	for _, a := range have.Addrs {
		if !slices.Contains(want.Addrs, a) && !gone(a.Dev) {
			steps = append(steps, Step{Op: OpDelAddr, Addr: &a})
		}
	}
	for _, a := range want.Addrs {
		if !slices.Contains(have.Addrs, a) {
			steps = append(steps, Step{Op: OpAddAddr, Addr: &a})
		}
	}
	for _, r := range want.Routes {
		if !slices.Contains(have.Routes, r) {
			steps = append(steps, Step{Op: OpAddRoute, Route: &r})
		}
	}
	return steps
}
