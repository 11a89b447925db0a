package reconcile

import (
	"errors"
	"strings"
	"testing"

	"github.com/popcorn-kernel/popcorn/ctl/internal/config"
)

const machine = `version: 1
self: {from_window: true}
nodes:
  - {id: 0, name: owner, shm: {peer: 0}}
  - {id: 1, name: w1, shm: {peer: 1}}
  - {id: 2, name: w2, shm: {peer: 2}}
service: {address: 10.99.0.100, owner: 0, clients: [10.99.0.0/24]}
snapbean: {subnet: 10.97.0.0/24, gateway: 10.97.0.254, mtu: 9000}
`

func desired(t *testing.T, src string, self int) State {
	t.Helper()
	cfg, err := config.Parse("m.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Desired(cfg, self)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func lines(steps []Step) string {
	s := make([]string, len(steps))
	for i, st := range steps {
		s[i] = st.String()
	}
	return strings.Join(s, "\n")
}

// fresh is a kernel with popcorn_msg just loaded.
func fresh() State { return State{Self: -1, Nodes: map[int]Endpoint{}} }

func TestPlan(t *testing.T) {
	owner := desired(t, machine, 0)
	worker := desired(t, machine, 2)
	without1 := desired(t, strings.Replace(machine, "  - {id: 1, name: w1, shm: {peer: 1}}\n", "", 1), 2)
	moved := desired(t, strings.Replace(machine, "{id: 1, name: w1, shm: {peer: 1}}", "{id: 1, name: w1, shm: {peer: 3}}", 1), 2)
	noBean := desired(t, strings.SplitN(machine, "service:", 2)[0], 2)

	for _, tc := range []struct {
		name       string
		want, have State
		plan       string
	}{
		{"owner from nothing", owner, fresh(), `set this kernel's node id to 0
add node 1 over shm endpoint 1
add node 2 over shm endpoint 2
create device sb0 (snapbean)
set sb0 mtu 9000
set sb0 up
add address 10.97.0.1/24 to sb0
add address 10.99.0.100/32 to lo
add address 10.97.0.254/24 to sb0
sysctl net/ipv4/conf/all/rp_filter=0
sysctl net/ipv4/conf/sb0/accept_local=1
sysctl net/ipv4/conf/sb0/rp_filter=0
sysctl net/ipv4/ip_forward=1`},
		{"worker from nothing", worker, fresh(), `set this kernel's node id to 2
add node 0 over shm endpoint 0
add node 1 over shm endpoint 1
create device sb0 (snapbean)
set sb0 mtu 9000
set sb0 up
add address 10.97.0.3/24 to sb0
add address 10.99.0.100/32 to lo
add route 10.99.0.0/24 via 10.97.0.254 dev sb0
sysctl net/ipv4/conf/sb0/arp_announce=2`},
		{"in step", worker, worker, ``},
		{"a node left the file", without1, worker, `remove node 1`},
		{"a node moved", moved, worker, "remove node 1\nadd node 1 over shm endpoint 3"},
		{"module reloaded", worker, withLink(fresh(), worker), `set this kernel's node id to 2
add node 0 over shm endpoint 0
add node 1 over shm endpoint 1`},
		{"device down, mtu changed", worker, withLinkState(worker, 1500, false), "set sb0 mtu 9000\nset sb0 up"},
		{"device deleted by hand", worker, withoutLink(worker), `create device sb0 (snapbean)
set sb0 mtu 9000
set sb0 up
add address 10.97.0.3/24 to sb0
add route 10.99.0.0/24 via 10.97.0.254 dev sb0`},
		{"snapbean and service left the file", noBean, worker, `delete device sb0
remove address 10.99.0.100/32 from lo`},
		{"sysctl reset", worker, withSysctl(worker, "net/ipv4/conf/sb0/arp_announce", "0"),
			"sysctl net/ipv4/conf/sb0/arp_announce=2"},
	} {
		steps, err := Plan(tc.want, tc.have)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := lines(steps); got != tc.plan {
			t.Errorf("%s:\n got:\n%s\nwant:\n%s", tc.name, got, tc.plan)
		}
	}
}

func TestPlanSelfChanged(t *testing.T) {
	have := desired(t, machine, 1)
	_, err := Plan(desired(t, machine, 2), have)
	var e *ErrSelfChanged
	if !errors.As(err, &e) || e.Have != 1 || e.Want != 2 {
		t.Fatalf("got %v, want a refusal to change node 1 into 2", err)
	}
}

func TestDesiredUnknownSelf(t *testing.T) {
	cfg, err := config.Parse("m.yaml", []byte(machine))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Desired(cfg, 7); err == nil {
		t.Fatal("node 7 is not in the file, yet a state was derived")
	}
}

// withLink is st with want's device, addresses and routes, as after a
// reload of popcorn_msg alone.
func withLink(st, want State) State {
	st.Link, st.Addrs, st.Routes, st.Sysctls = want.Link, want.Addrs, want.Routes, want.Sysctls
	return st
}

func withLinkState(st State, mtu int, up bool) State {
	l := *st.Link
	l.MTU, l.Up = mtu, up
	st.Link = &l
	return st
}

func withoutLink(st State) State {
	st.Link = nil
	var addrs []Addr
	for _, a := range st.Addrs {
		if a.Dev != "sb0" {
			addrs = append(addrs, a)
		}
	}
	st.Addrs, st.Routes = addrs, nil
	return st
}

func withSysctl(st State, k, v string) State {
	s := map[string]string{}
	for kk, vv := range st.Sysctls {
		s[kk] = vv
	}
	s[k] = v
	st.Sysctls = s
	return st
}
