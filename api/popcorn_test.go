package api

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// member is one enumerator of the UAPI header with its value.
type member struct {
	name  string
	value int
}

// cEnum reads the members of "enum name { ... };" from the UAPI header in
// order, counting values as C does. The __X_MAX count and the X_MAX alias
// are not members: maxVal is X_MAX's value, -1 if the enum has none.
func cEnum(t *testing.T, header, name string) (members []member, maxVal int) {
	t.Helper()
	re := regexp.MustCompile(`(?s)enum ` + name + ` \{(.*?)\};`)
	m := re.FindStringSubmatch(header)
	if m == nil {
		t.Fatalf("enum %s not in header", name)
	}
	next := 0
	maxVal = -1
	for _, line := range strings.Split(m[1], "\n") {
		line = strings.TrimSuffix(strings.TrimSpace(line), ",")
		if line == "" || strings.HasPrefix(line, "/*") {
			continue
		}
		id, expr, explicit := strings.Cut(line, "=")
		id, expr = strings.TrimSpace(id), strings.TrimSpace(expr)
		switch {
		case strings.HasPrefix(id, "__"):
			maxVal = next - 1
			continue
		case explicit && strings.HasPrefix(expr, "(__"):
			continue // X_MAX = (__X_MAX - 1)
		case explicit:
			v, err := strconv.Atoi(expr)
			if err != nil {
				t.Fatalf("enum %s: %s = %q", name, id, expr)
			}
			next = v
		}
		members = append(members, member{id, next})
		next++
	}
	return members, maxVal
}

// goName turns POPCORN_A_NODE_ID into the Go spelling, NodeId.
func goName(c, prefix string) string {
	var b strings.Builder
	for _, w := range strings.Split(strings.TrimPrefix(c, prefix), "_") {
		b.WriteString(string(unicode.ToUpper(rune(w[0]))) + strings.ToLower(w[1:]))
	}
	return b.String()
}

// The Go constants of each enum, in value order. Go spells ID and the
// like in capitals; the tables spell what the header says.
var (
	cmds = []member{{"NodeAdd", CmdNodeAdd}, {"NodeDel", CmdNodeDel},
		{"NodeGet", CmdNodeGet}, {"NodeEvent", CmdNodeEvent}, {"Ping", CmdPing},
		{"Bench", CmdBench}, {"StatsGet", CmdStatsGet}, {"LoadSet", CmdLoadSet},
		{"LoadGet", CmdLoadGet}}
	states = []member{{"Down", NodeStateDown}, {"Up", NodeStateUp}}
	attrs  = []member{{"Pad", APad}, {"NodeId", ANodeID}, {"NodeSelf", ANodeSelf},
		{"NodeTransport", ANodeTransport}, {"NodeEndpoint", ANodeEndpoint},
		{"NodeState", ANodeState}, {"NodePeerNonce", ANodePeerNonce},
		{"PingCount", APingCount}, {"PingSize", APingSize},
		{"PingTimeoutMs", APingTimeoutMs}, {"PingPoll", APingPoll},
		{"PingSampleNs", APingSampleNs}, {"BenchCount", ABenchCount},
		{"BenchSize", ABenchSize}, {"BenchBytes", ABenchBytes},
		{"BenchNsec", ABenchNsec}, {"StatsTxMsgs", AStatsTxMsgs},
		{"StatsTxBytes", AStatsTxBytes}, {"StatsRxMsgs", AStatsRxMsgs},
		{"StatsRxBytes", AStatsRxBytes}, {"StatsErrors", AStatsErrors},
		{"StatsDoorbellsRung", AStatsDoorbellsRung},
		{"StatsDoorbellsSuppressed", AStatsDoorbellsSuppressed},
		{"StatsRpcTimeouts", AStatsRpcTimeouts},
		{"LoadAcceptQueue", ALoadAcceptQueue}, {"LoadEstablished", ALoadEstablished},
		{"LoadCpuBusy", ALoadCpuBusy}, {"LoadAgeMs", ALoadAgeMs}}
)

func TestHeaderMatchesGo(t *testing.T) {
	raw, err := os.ReadFile("uapi/linux/popcorn.h")
	if err != nil {
		t.Fatal(err)
	}
	header := string(raw)
	for _, tc := range []struct {
		enum, prefix string
		goConsts     []member
		goMax        int // -1: the enum has no max
	}{
		{"popcorn_cmd", "POPCORN_CMD_", cmds, CmdMax},
		{"popcorn_attr", "POPCORN_A_", attrs, AMax},
		{"popcorn_node_state", "POPCORN_NODE_STATE_", states, -1},
	} {
		got, maxVal := cEnum(t, header, tc.enum)
		if len(got) != len(tc.goConsts) {
			t.Fatalf("enum %s has %v, Go has %v", tc.enum, got, tc.goConsts)
		}
		for i, c := range got {
			g := tc.goConsts[i]
			if goName(c.name, tc.prefix) != g.name || c.value != g.value {
				t.Errorf("enum %s member %d is %s = %d, Go says %s = %d",
					tc.enum, i, c.name, c.value, g.name, g.value)
			}
		}
		if maxVal != tc.goMax {
			t.Errorf("enum %s: max %d, Go %d", tc.enum, maxVal, tc.goMax)
		}
	}
	for name, want := range map[string]string{
		"POPCORN_FAMILY_NAME":    strconv.Quote(FamilyName),
		"POPCORN_FAMILY_VERSION": strconv.Itoa(FamilyVersion),
		"POPCORN_MCGRP_EVENTS":   strconv.Quote(McgrpEvents),
		"POPCORN_MAX_NODES":      strconv.Itoa(MaxNodes),
		"POPCORN_PING_MAX_COUNT": strconv.Itoa(PingMaxCount),
		"POPCORN_MSG_MAX_LEN":    strconv.Itoa(MsgMaxLen),
		"POPCORN_LOAD_BUSY_MAX":  strconv.Itoa(LoadBusyMax),
	} {
		re := regexp.MustCompile(`#define ` + name + `\s+(.+)`)
		m := re.FindStringSubmatch(header)
		if m == nil || strings.TrimSpace(m[1]) != want {
			t.Errorf("%s: header %q, Go %s", name, m, want)
		}
	}
}

func TestGoValuesArePositions(t *testing.T) {
	for i, c := range cmds {
		if c.value != i+1 {
			t.Errorf("command %s = %d, want %d", c.name, c.value, i+1)
		}
	}
	for i, a := range attrs {
		if a.value != i+1 {
			t.Errorf("attribute %s = %d, want %d", a.name, a.value, i+1)
		}
	}
	if AMax != len(attrs) || CmdMax != len(cmds) || NodeStateDown != 0 || NodeStateUp != 1 {
		t.Errorf("AMax %d, CmdMax %d, states %d %d", AMax, CmdMax, NodeStateDown, NodeStateUp)
	}
}

// specSection is the text of one top-level section of the YAML spec.
func specSection(t *testing.T, spec, section string) string {
	t.Helper()
	i := strings.Index(spec, "\n"+section+":")
	if i < 0 {
		t.Fatalf("spec has no %s", section)
	}
	body := spec[i+len(section)+2:]
	if j := regexp.MustCompile(`\n[a-z]`).FindStringIndex(body); j != nil {
		body = body[:j[0]]
	}
	return body
}

// specNames lists the "name:" entries of one top-level section of the
// YAML spec, at the given indentation, in order.
func specNames(t *testing.T, spec, section, indent string) []string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + indent + `name: ([a-z0-9-]+)$`)
	var names []string
	for _, m := range re.FindAllStringSubmatch(specSection(t, spec, section), -1) {
		names = append(names, m[1])
	}
	return names
}

func camel(yamlName string) string {
	var b strings.Builder
	for _, w := range strings.Split(yamlName, "-") {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

func TestSpecMatchesGo(t *testing.T) {
	raw, err := os.ReadFile("../Documentation/netlink/specs/popcorn.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec := string(raw)
	if !strings.Contains(spec, "\nname: "+FamilyName+"\n") {
		t.Errorf("spec is not for family %s", FamilyName)
	}
	check := func(what string, yamlNames []string, goConsts []member) {
		if len(yamlNames) != len(goConsts) {
			t.Fatalf("%s: spec has %v, Go has %v", what, yamlNames, goConsts)
		}
		for i, n := range yamlNames {
			if camel(n) != goConsts[i].name {
				t.Errorf("%s %d: spec %s, Go %s", what, i, n, goConsts[i].name)
			}
		}
	}
	check("attribute", specNames(t, spec, "attribute-sets", "        "), attrs)
	check("operation", specNames(t, spec, "operations", "      "), cmds)
	m := regexp.MustCompile(`name: node-state\n\s+entries: \[(.*)\]`).FindStringSubmatch(
		specSection(t, spec, "definitions"))
	if m == nil {
		t.Fatal("spec has no node-state entries")
	}
	check("node state", strings.Split(strings.ReplaceAll(m[1], " ", ""), ","), states)
	if g := specNames(t, spec, "mcast-groups", "      "); len(g) != 1 || g[0] != McgrpEvents {
		t.Errorf("multicast groups %v", g)
	}
}
