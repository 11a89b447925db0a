package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// Load reads and checks a file.
func Load(file string) (*Config, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return Parse(file, src)
}

// Parse checks src, read from file, and returns the config it describes,
// or Errors: every mistake, in order, each naming its line and column.
func Parse(file string, src []byte) (*Config, error) {
	tree, perr := parseTree(src)
	if perr != nil {
		perr.File = file
		return nil, Errors{*perr}
	}
	if tree == nil {
		return nil, Errors{{File: file, Pos: Pos{1, 1}, Msg: "the file is empty: it needs at least version, self and nodes"}}
	}
	c := &checker{}
	cfg := c.config(tree)
	if len(c.errs) > 0 {
		for i := range c.errs {
			c.errs[i].File = file
		}
		sortErrors(c.errs)
		return nil, c.errs
	}
	return cfg, nil
}

func (c *checker) config(v *value) *Config {
	m := c.fields(v, "the file", "version", "self", "nodes", "service", "snapbean")
	if m == nil {
		return nil
	}
	cfg := &Config{}
	if ver := c.need(m, v, "the file", "version"); ver != nil {
		if n, ok := c.intIn(ver, "version", Version, Version); ok {
			cfg.Version = n
		}
	}
	if nv := c.need(m, v, "the file", "nodes"); nv != nil {
		cfg.Nodes = c.nodes(nv)
	}
	if sv := c.need(m, v, "the file", "self"); sv != nil {
		cfg.Self = c.self(sv, cfg)
	}
	if sv := m["service"]; sv != nil {
		cfg.Service = c.service(sv, cfg)
	}
	if bv := m["snapbean"]; bv != nil {
		cfg.SnapBean = c.bean(bv, cfg)
	}
	if cfg.Service != nil && cfg.SnapBean == nil && len(cfg.Nodes) > 1 {
		c.errorf(m["service"].pos, "service: the other kernels reach the owner through Snap Bean: add a snapbean section")
	}
	return cfg
}

func (c *checker) self(v *value, cfg *Config) Self {
	m := c.fields(v, "self", "id", "from_window", "window")
	var s Self
	if m == nil {
		return s
	}
	if iv := m["id"]; iv != nil {
		if id, ok := c.intIn(iv, "self.id", 0, MaxNodes-1); ok {
			s.ID = &id
			if _, found := cfg.Node(id); !found && cfg.Nodes != nil {
				c.errorf(iv.pos, "self.id: no node has id %d", id)
			}
		}
	}
	if fv := m["from_window"]; fv != nil {
		s.FromWindow, _ = c.boolean(fv, "self.from_window")
	}
	if wv := m["window"]; wv != nil {
		s.Window, _ = parsed(c, wv, "self.window", parsePCI)
	}
	switch {
	case m["id"] != nil && s.FromWindow:
		c.errorf(v.pos, "self: give id or from_window, not both")
	case m["id"] == nil && !s.FromWindow && m["from_window"] == nil:
		c.errorf(v.pos, "self: give id, or from_window: true to take the node whose shm peer is this kernel's")
	case s.FromWindow:
		for _, n := range cfg.Nodes {
			if n.Shm == nil {
				c.errorf(v.pos, "self.from_window: node %d has no shm peer to be found by", n.ID)
			}
		}
	}
	return s
}

func (c *checker) nodes(v *value) []Node {
	if v.kind != kindSeq {
		c.list(v, "nodes")
		return nil
	}
	if len(v.items) == 0 {
		c.errorf(v.pos, "nodes: the list is empty")
	}
	var nodes []Node
	bad := false
	ids, names, peers, tcps := seen{}, seen{}, seen{}, seen{}
	for i, it := range v.items {
		what := fmt.Sprintf("nodes[%d]", i)
		n, ok := c.node(it, what)
		bad = bad || !ok
		if it.kind != kindMap {
			continue
		}
		// Each field that is right on its own must also be unique.
		m := it.pairsByKey()
		if n.ID >= 0 {
			c.unique(ids, strconv.Itoa(n.ID), m["id"], what+".id", "id")
		}
		if n.Name != "" {
			c.unique(names, strconv.Quote(n.Name), m["name"], what+".name", "name")
		}
		if n.Shm != nil {
			c.unique(peers, strconv.Itoa(n.Shm.Peer), m["shm"].pairsByKey()["peer"], what+".shm.peer", "peer")
		}
		if n.TCP != "" {
			c.unique(tcps, n.TCP, m["tcp"], what+".tcp", "address")
		}
		nodes = append(nodes, n)
	}
	if bad {
		// What refers to nodes is not judged against a partial list.
		return nil
	}
	return nodes
}

// seen maps a value to where it first appeared.
type seen map[string]*value

func (c *checker) unique(s seen, key string, v *value, what, noun string) {
	if first := s[key]; first != nil {
		c.errorf(v.pos, "%s: %s is already the %s of the node at line %d", what, key, noun, first.pos.Line)
		return
	}
	s[key] = v
}

// pairsByKey is a mapping's values by key; later duplicates, already
// reported, are ignored.
func (v *value) pairsByKey() map[string]*value {
	m := map[string]*value{}
	for _, p := range v.pairs {
		if m[p.key.str] == nil {
			m[p.key.str] = p.value
		}
	}
	return m
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$`)

func (c *checker) node(v *value, what string) (Node, bool) {
	m := c.fields(v, what, "id", "name", "shm", "tcp", "prefer", "partition")
	if m == nil {
		return Node{ID: -1}, false
	}
	n := Node{ID: -1}
	errs := len(c.errs)
	if iv := c.need(m, v, what, "id"); iv != nil {
		if id, ok := c.intIn(iv, what+".id", 0, MaxNodes-1); ok {
			n.ID = id
		}
	}
	if nv := c.need(m, v, what, "name"); nv != nil {
		if s, ok := c.scalar(nv, what+".name"); ok && !nameRE.MatchString(s) {
			c.errorf(nv.pos, "%s.name: %q: want 1 to 32 of a-z, 0-9 and -, not starting or ending with -", what, s)
		} else {
			n.Name = s
		}
	}
	if sv := m["shm"]; sv != nil {
		n.Shm = c.shm(sv, what+".shm")
	}
	if tv := m["tcp"]; tv != nil {
		n.TCP, _ = parsed(c, tv, what+".tcp", parseHostPort)
	}
	if m["shm"] == nil && m["tcp"] == nil {
		c.errorf(v.pos, "%s: give shm, tcp or both: how this node is reached", what)
	}
	if pv := m["prefer"]; pv != nil {
		if s, ok := c.scalar(pv, what+".prefer"); ok {
			switch {
			case s != "shm" && s != "tcp":
				c.errorf(pv.pos, "%s.prefer: %q is not shm or tcp", what, s)
			case m[s] == nil:
				c.errorf(pv.pos, "%s.prefer: %s, but the node has no %s endpoint", what, s, s)
			default:
				n.Prefer = s
			}
		}
	}
	if pv := m["partition"]; pv != nil {
		n.Partition = c.partition(pv, what+".partition")
	} else {
		n.Partition = &Partition{Weight: 1}
	}
	return n, len(c.errs) == errs
}

func (c *checker) shm(v *value, what string) *Shm {
	m := c.fields(v, what, "peer")
	if m == nil {
		return nil
	}
	pv := c.need(m, v, what, "peer")
	if pv == nil {
		return nil
	}
	p, ok := c.intIn(pv, what+".peer", 0, MaxShmPeers-1)
	if !ok {
		return nil
	}
	return &Shm{Peer: p}
}

func (c *checker) partition(v *value, what string) *Partition {
	m := c.fields(v, what, "cpus", "memory", "devices", "weight")
	p := &Partition{Weight: 1}
	if m == nil {
		return p
	}
	if cv := m["cpus"]; cv != nil {
		p.CPUs, _ = parsed(c, cv, what+".cpus", parseCPUList)
	}
	if mv := m["memory"]; mv != nil {
		p.Memory, _ = parsed(c, mv, what+".memory", parseSize)
	}
	if dv := m["devices"]; dv != nil {
		for i, it := range c.list(dv, what+".devices") {
			if d, ok := parsed(c, it, fmt.Sprintf("%s.devices[%d]", what, i), parsePCI); ok {
				p.Devices = append(p.Devices, d)
			}
		}
	}
	if wv := m["weight"]; wv != nil {
		p.Weight, _ = c.intIn(wv, what+".weight", 1, 1000)
	}
	return p
}

func (c *checker) service(v *value, cfg *Config) *Service {
	m := c.fields(v, "service", "address", "owner", "nic", "port", "clients")
	if m == nil {
		return nil
	}
	s := &Service{}
	if av := c.need(m, v, "service", "address"); av != nil {
		s.Address, _ = parsed(c, av, "service.address", parseIPv4)
	}
	if ov := c.need(m, v, "service", "owner"); ov != nil {
		if id, ok := c.intIn(ov, "service.owner", 0, MaxNodes-1); ok {
			s.Owner = id
			if _, found := cfg.Node(id); !found && cfg.Nodes != nil {
				c.errorf(ov.pos, "service.owner: no node has id %d", id)
			}
		}
	}
	if nv := m["nic"]; nv != nil {
		s.NIC, _ = parsed(c, nv, "service.nic", parseIfname)
	}
	if pv := m["port"]; pv != nil {
		if port, ok := c.intIn(pv, "service.port", 1, 65535); ok {
			s.Port = uint16(port)
		}
	}
	if cv := m["clients"]; cv != nil {
		for i, it := range c.list(cv, "service.clients") {
			if p, ok := parsed(c, it, fmt.Sprintf("service.clients[%d]", i), parsePrefix); ok {
				s.Clients = append(s.Clients, p)
			}
		}
	}
	return s
}

func (c *checker) bean(v *value, cfg *Config) *Bean {
	m := c.fields(v, "snapbean", "device", "subnet", "gateway", "mtu")
	if m == nil {
		return nil
	}
	b := &Bean{Device: "sb0", MTU: 1500}
	if dv := m["device"]; dv != nil {
		b.Device, _ = parsed(c, dv, "snapbean.device", parseIfname)
	}
	sv := c.need(m, v, "snapbean", "subnet")
	if sv != nil {
		if p, ok := parsed(c, sv, "snapbean.subnet", parsePrefix); ok {
			b.Subnet = p
			for _, n := range cfg.Nodes {
				if a := b.BeanAddr(n.ID); !p.Contains(a) || a == lastAddr(p) {
					c.errorf(sv.pos, "snapbean.subnet: %s has no address for node %d (it would be %s)", p, n.ID, a)
					break
				}
			}
		}
	}
	if gv := c.need(m, v, "snapbean", "gateway"); gv != nil {
		if g, ok := parsed(c, gv, "snapbean.gateway", parseIPv4); ok {
			b.Gateway = g
			c.checkGateway(gv, b, cfg)
		}
	}
	if mv := m["mtu"]; mv != nil {
		b.MTU, _ = c.intIn(mv, "snapbean.mtu", 68, 65535)
	}
	return b
}

func (c *checker) checkGateway(gv *value, b *Bean, cfg *Config) {
	if !b.Subnet.IsValid() {
		return
	}
	if !b.Subnet.Contains(b.Gateway) {
		c.errorf(gv.pos, "snapbean.gateway: %s is outside the subnet %s", b.Gateway, b.Subnet)
		return
	}
	if b.Gateway == b.Subnet.Addr() || b.Gateway == lastAddr(b.Subnet) {
		c.errorf(gv.pos, "snapbean.gateway: %s is the subnet's network or broadcast address", b.Gateway)
		return
	}
	for _, n := range cfg.Nodes {
		if b.BeanAddr(n.ID) == b.Gateway {
			c.errorf(gv.pos, "snapbean.gateway: %s is node %d's address", b.Gateway, n.ID)
			return
		}
	}
}

// lastAddr is p's broadcast address.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	bits := p.Bits()
	for i := 0; i < 4; i++ {
		for b := 0; b < 8; b++ {
			if i*8+b >= bits {
				a[i] |= 0x80 >> b
			}
		}
	}
	return netip.AddrFrom4(a)
}

func parseIPv4(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("%q is not an IPv4 address", s)
	}
	return a, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 prefix like 10.97.0.0/24", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set: %s", s, p.Masked())
	}
	return p, nil
}

func parseHostPort(s string) (string, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Port() == 0 {
		return "", fmt.Errorf("%q is not ADDRESS:PORT (an IP address and a port 1..65535)", s)
	}
	return ap.String(), nil
}

var pciRE = regexp.MustCompile(`^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$`)

func parsePCI(s string) (string, error) {
	if !pciRE.MatchString(s) {
		return "", fmt.Errorf("%q is not a PCI address like 0000:00:04.0", s)
	}
	return s, nil
}

var ifnameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,15}$`)

func parseIfname(s string) (string, error) {
	if !ifnameRE.MatchString(s) || s == "." || s == ".." {
		return "", fmt.Errorf("%q is not an interface name (1 to 15 letters, digits, _ . -)", s)
	}
	return s, nil
}

// parseCPUList checks a kernel CPU list such as 0-3,8,10-11.
func parseCPUList(s string) (string, error) {
	bad := fmt.Errorf("%q is not a CPU list like 0-3,8", s)
	for _, r := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(r, "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return "", bad
		}
		if isRange {
			b, err := strconv.ParseUint(hi, 10, 16)
			if err != nil || b < a {
				return "", bad
			}
		}
	}
	return s, nil
}

var sizeRE = regexp.MustCompile(`^[1-9][0-9]{0,8}[KMGT]i?B?$`)

func parseSize(s string) (string, error) {
	if !sizeRE.MatchString(s) {
		return "", fmt.Errorf("%q is not a size like 512M or 4GiB", s)
	}
	return s, nil
}

// AsErrors returns err's mistakes, if it is a config error.
func AsErrors(err error) (Errors, bool) {
	var es Errors
	ok := errors.As(err, &es)
	return es, ok
}
