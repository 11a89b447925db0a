package config

import (
	"net/netip"
	"os"
	"strings"
	"testing"
)

const example = "../../../Documentation/popcornd/popcorn.yaml"

func TestExample(t *testing.T) {
	cfg, err := Load(example)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Self.FromWindow || len(cfg.Nodes) != 3 || cfg.Service.Owner != 0 {
		t.Fatalf("example read as %+v", cfg)
	}
	if got := cfg.SnapBean.BeanAddr(2); got != netip.MustParseAddr("10.97.0.3") {
		t.Errorf("node 2's sb0 address %s, want 10.97.0.3", got)
	}
	if tr, ep := cfg.Nodes[1].Transport(); tr != "shm" || ep != "1" {
		t.Errorf("node 1 reached by %s %s, want shm 1", tr, ep)
	}
	if cfg.Nodes[0].Partition.Weight != 2 || cfg.Nodes[1].Partition.Weight != 1 {
		t.Errorf("weights %d %d, want 2 and the default 1", cfg.Nodes[0].Partition.Weight, cfg.Nodes[1].Partition.Weight)
	}
}

const small = `version: 1
self: {id: 0}
nodes:
  - {id: 0, name: a, shm: {peer: 0}}
  - {id: 1, name: b, shm: {peer: 1}}
`

func TestGood(t *testing.T) {
	for name, src := range map[string]string{
		"trailing empty lines": small + "\n\n\n",
		"no final newline":     strings.TrimSuffix(small, "\n"),
		"comments only after":  small + "# the end\n",
		"tcp and prefer": `version: 1
self: {id: 3}
nodes:
  - {id: 3, name: x, tcp: "192.0.2.1:7600", shm: {peer: 2}, prefer: tcp}
`,
		"block style": `version: 1
self:
  id: 0
nodes:
  - id: 0
    name: a
    shm:
      peer: 0
`,
	} {
		if _, err := Parse("f.yaml", []byte(src)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	cfg, _ := Parse("f.yaml", []byte(small))
	if tr, ep := cfg.Nodes[0].Transport(); tr != "shm" || ep != "0" {
		t.Errorf("transport %s %s", tr, ep)
	}
}

func TestBad(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"empty", "", "f.yaml:1:1: the file is empty: it needs at least version, self and nodes"},
		{"blank lines", "\n\n  \n", "f.yaml:1:1: the file is empty: it needs at least version, self and nodes"},
		{"only comments", "# nothing\n", "f.yaml:1:1: the file is empty: it needs at least version, self and nodes"},
		{"not a mapping", "- 1\n", "f.yaml:1:1: the file: want a mapping, not a list"},
		{"syntax", "version: 1\nself: {id: 0\n", "f.yaml:2:7: YAML: could not find flow mapping end token '}'"},
		{"unknown top key", small + "nodez: []\n", `f.yaml:6:1: the file: unknown key "nodez" (known: version, self, nodes, service, snapbean)`},
		{"wrong version", strings.Replace(small, "version: 1", "version: 2", 1), `f.yaml:1:10: version: "2" is not a whole number in 1..1`},
		{"key twice", small + "version: 1\n", `f.yaml:6:1: the file: key "version" given twice (first at line 1)`},
		{"missing nodes", "version: 1\nself: {id: 0}\n", `f.yaml:1:1: the file: missing key "nodes"`},
		{"empty nodes", "version: 1\nself: {from_window: true}\nnodes: []\n", "f.yaml:3:8: nodes: the list is empty"},
		{"duplicate id", small + "  - {id: 1, name: c, shm: {peer: 2}}\n",
			"f.yaml:6:10: nodes[2].id: 1 is already the id of the node at line 5"},
		{"duplicate name", small + "  - {id: 2, name: b, shm: {peer: 2}}\n",
			`f.yaml:6:19: nodes[2].name: "b" is already the name of the node at line 5`},
		{"duplicate peer", small + "  - {id: 2, name: c, shm: {peer: 1}}\n",
			"f.yaml:6:34: nodes[2].shm.peer: 1 is already the peer of the node at line 5"},
		{"id out of range", small + "  - {id: 64, name: c, shm: {peer: 2}}\n",
			`f.yaml:6:10: nodes[2].id: "64" is not a whole number in 0..63`},
		{"peer out of range", small + "  - {id: 2, name: c, shm: {peer: 8}}\n",
			`f.yaml:6:34: nodes[2].shm.peer: "8" is not a whole number in 0..7`},
		{"unknown node key", small + "  - {id: 2, name: c, shm: {peer: 2}, cpu: 1}\n",
			`f.yaml:6:38: nodes[2]: unknown key "cpu" (known: id, name, shm, tcp, prefer, partition)`},
		{"no endpoint", small + "  - {id: 2, name: c}\n", "f.yaml:6:6: nodes[2]: give shm, tcp or both: how this node is reached"},
		{"bad tcp", small + "  - {id: 2, name: c, tcp: host:99999}\n",
			`f.yaml:6:27: nodes[2].tcp: "host:99999" is not ADDRESS:PORT (an IP address and a port 1..65535)`},
		{"prefer missing", small + "  - {id: 2, name: c, shm: {peer: 2}, prefer: tcp}\n",
			"f.yaml:6:46: nodes[2].prefer: tcp, but the node has no tcp endpoint"},
		{"bad name", small + "  - {id: 2, name: C_1, shm: {peer: 2}}\n",
			`f.yaml:6:19: nodes[2].name: "C_1": want 1 to 32 of a-z, 0-9 and -, not starting or ending with -`},
		{"self not a node", strings.Replace(small, "id: 0}", "id: 9}", 1), "f.yaml:2:12: self.id: no node has id 9"},
		{"self both", strings.Replace(small, "{id: 0}", "{id: 0, from_window: true}", 1), "f.yaml:2:8: self: give id or from_window, not both"},
		{"self none", strings.Replace(small, "{id: 0}", "{}", 1),
			"f.yaml:2:7: self: give id, or from_window: true to take the node whose shm peer is this kernel's"},
		{"bad window", strings.Replace(small, "{id: 0}", "{id: 0, window: 00:04.0}", 1),
			`f.yaml:2:23: self.window: "00:04.0" is not a PCI address like 0000:00:04.0`},
		{"bad partition", small + "  - {id: 2, name: c, shm: {peer: 2}, partition: {cpus: 3-1, memory: 4X, devices: [x], weight: 0}}\n",
			`f.yaml:6:56: nodes[2].partition.cpus: "3-1" is not a CPU list like 0-3,8` + "\n" +
				`f.yaml:6:69: nodes[2].partition.memory: "4X" is not a size like 512M or 4GiB` + "\n" +
				`f.yaml:6:83: nodes[2].partition.devices[0]: "x" is not a PCI address like 0000:00:04.0` + "\n" +
				`f.yaml:6:95: nodes[2].partition.weight: "0" is not a whole number in 1..1000`},
		{"bad service", small + "service: {address: 10.99.0.300, owner: 5, clients: [10.99.0.1/24]}\nsnapbean: {subnet: 10.97.0.0/24, gateway: 10.97.0.254}\n",
			`f.yaml:6:20: service.address: "10.99.0.300" is not an IPv4 address` + "\n" +
				"f.yaml:6:40: service.owner: no node has id 5\n" +
				`f.yaml:6:53: service.clients[0]: "10.99.0.1/24" has host bits set: 10.99.0.0/24`},
		{"bad service port", small + "service: {address: 10.99.0.100, owner: 0, port: 0}\nsnapbean: {subnet: 10.97.0.0/24, gateway: 10.97.0.254}\n",
			`f.yaml:6:49: service.port: "0" is not a whole number in 1..65535`},
		{"service without snapbean", small + "service: {address: 10.99.0.100, owner: 0}\n",
			"f.yaml:6:11: service: the other kernels reach the owner through Snap Bean: add a snapbean section"},
		{"gateway is a node", small + "snapbean: {subnet: 10.97.0.0/24, gateway: 10.97.0.2}\n",
			"f.yaml:6:43: snapbean.gateway: 10.97.0.2 is node 1's address"},
		{"gateway outside", small + "snapbean: {subnet: 10.97.0.0/24, gateway: 10.96.0.1}\n",
			"f.yaml:6:43: snapbean.gateway: 10.96.0.1 is outside the subnet 10.97.0.0/24"},
		{"subnet too small", small + "snapbean: {subnet: 10.97.0.0/31, gateway: 10.97.0.0, mtu: 40}\n",
			"f.yaml:6:20: snapbean.subnet: 10.97.0.0/31 has no address for node 0 (it would be 10.97.0.1)\n" +
				"f.yaml:6:43: snapbean.gateway: 10.97.0.0 is the subnet's network or broadcast address\n" +
				`f.yaml:6:59: snapbean.mtu: "40" is not a whole number in 68..65535`},
		{"a duplicate beside another mistake", "version: 1\nself: {id: 0}\nnodes:\n  - {id: 0, name: a, shm: {peer: 9}}\n  - {id: 0, name: b, shm: {peer: 1}}\n",
			`f.yaml:4:34: nodes[0].shm.peer: "9" is not a whole number in 0..7` + "\n" +
				"f.yaml:5:10: nodes[1].id: 0 is already the id of the node at line 4"},
		{"anchor", small + "snapbean: &b {subnet: 10.97.0.0/24, gateway: 10.97.0.254}\n",
			"f.yaml:6:11: anchors, aliases, tags and merge keys are not supported"},
		{"many at once", "version: 1\nself: {id: 0}\nnodes:\n  - {id: x, name: a, shm: {peer: 0}}\n  - {id: 1, shm: {peer: 1}, color: red}\n",
			`f.yaml:4:10: nodes[0].id: "x" is not a whole number in 0..63` + "\n" +
				`f.yaml:5:6: nodes[1]: missing key "name"` + "\n" +
				`f.yaml:5:29: nodes[1]: unknown key "color" (known: id, name, shm, tcp, prefer, partition)`},
	} {
		_, err := Parse("f.yaml", []byte(tc.src))
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, err, tc.want)
		}
	}
}

func TestLoadMissing(t *testing.T) {
	if _, err := Load("/nonexistent/popcorn.yaml"); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzParse: whatever the bytes, Parse returns a config or positioned
// errors, and never panics.
func FuzzParse(f *testing.F) {
	src, err := os.ReadFile(example)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(src)
	f.Add([]byte(small))
	f.Add([]byte("version: 1\nself: {id: 0\n"))
	f.Add([]byte("a: &x [*x, *x]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := Parse("f", b)
		if err == nil {
			if cfg == nil || len(cfg.Nodes) == 0 {
				t.Fatalf("accepted without nodes: %q", b)
			}
			return
		}
		es, ok := AsErrors(err)
		if !ok || len(es) == 0 {
			t.Fatalf("error %v is not positioned", err)
		}
		for _, e := range es {
			if e.Line < 1 || e.Col < 1 || e.File != "f" {
				t.Fatalf("bad position in %q", e.Error())
			}
		}
	})
}
