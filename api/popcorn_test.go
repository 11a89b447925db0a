package api

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// cEnum reads the members of "enum name { ... };" from the UAPI header in
// order, so each can be compared with its Go constant.
func cEnum(t *testing.T, header, name string) []string {
	t.Helper()
	re := regexp.MustCompile(`(?s)enum ` + name + ` \{(.*?)\};`)
	m := re.FindStringSubmatch(header)
	if m == nil {
		t.Fatalf("enum %s not in header", name)
	}
	var members []string
	for _, line := range strings.Split(m[1], "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(line), ","))
		if line == "" || strings.HasPrefix(line, "/*") || strings.HasPrefix(line, "__") {
			continue
		}
		members = append(members, line)
	}
	return members
}

// goName turns POPCORN_A_NODE_ID into ANodeID's spelling, NodeId.
func goName(c, prefix string) string {
	var b strings.Builder
	for _, w := range strings.Split(strings.TrimPrefix(c, prefix), "_") {
		b.WriteString(string(unicode.ToUpper(rune(w[0]))) + strings.ToLower(w[1:]))
	}
	return b.String()
}

func TestHeaderMatchesGo(t *testing.T) {
	raw, err := os.ReadFile("uapi/linux/popcorn.h")
	if err != nil {
		t.Fatal(err)
	}
	header := string(raw)
	for _, tc := range []struct {
		enum, prefix string
		goConsts     []string
	}{
		{"popcorn_cmd", "POPCORN_CMD_", cmdNames},
		{"popcorn_attr", "POPCORN_A_", attrNames},
		{"popcorn_node_state", "POPCORN_NODE_", stateNames},
	} {
		got := cEnum(t, header, tc.enum)
		if len(got) != len(tc.goConsts) {
			t.Fatalf("enum %s has %d members, Go has %d", tc.enum, len(got), len(tc.goConsts))
		}
		for i, c := range got {
			if goName(c, tc.prefix) != tc.goConsts[i] {
				t.Errorf("enum %s member %d is %s, Go says %s", tc.enum, i, c, tc.goConsts[i])
			}
		}
	}
	for name, want := range map[string]string{
		"POPCORN_FAMILY_NAME":    strconv.Quote(FamilyName),
		"POPCORN_FAMILY_VERSION": strconv.Itoa(FamilyVersion),
		"POPCORN_MCGRP_EVENTS":   strconv.Quote(McgrpEvents),
		"POPCORN_MAX_NODES":      strconv.Itoa(MaxNodes),
		"POPCORN_PING_MAX_COUNT": strconv.Itoa(PingMaxCount),
		"POPCORN_MSG_MAX_LEN":    "(4 << 20)",
	} {
		re := regexp.MustCompile(`#define ` + name + `\s+(.+)`)
		m := re.FindStringSubmatch(header)
		if m == nil || strings.TrimSpace(m[1]) != want {
			t.Errorf("%s: header %q, Go %s", name, m, want)
		}
	}
	if MsgMaxLen != 4<<20 {
		t.Errorf("MsgMaxLen %d", MsgMaxLen)
	}
}

// The Go names of each enum, in value order; the test checks both the
// names against the header and the values against their position.
var (
	cmdNames   = []string{"Unspec", "NodeAdd", "NodeDel", "NodeGet", "NodeEvent", "Ping", "Bench", "StatsGet"}
	cmdValues  = []int{CmdUnspec, CmdNodeAdd, CmdNodeDel, CmdNodeGet, CmdNodeEvent, CmdPing, CmdBench, CmdStatsGet}
	stateNames = []string{"Down", "Up"}
	attrNames  = []string{"Unspec", "Pad", "NodeId", "NodeSelf", "NodeTransport", "NodeEndpoint",
		"NodeState", "NodePeerNonce", "PingCount", "PingSize", "PingTimeoutMs", "PingPoll",
		"PingSampleNs", "BenchCount", "BenchSize", "BenchBytes", "BenchNsec", "StatsTxMsgs",
		"StatsTxBytes", "StatsRxMsgs", "StatsRxBytes", "StatsErrors", "StatsDoorbellsRung",
		"StatsDoorbellsSuppressed", "StatsRpcTimeouts"}
	attrValues = []int{AUnspec, APad, ANodeID, ANodeSelf, ANodeTransport, ANodeEndpoint,
		ANodeState, ANodePeerNonce, APingCount, APingSize, APingTimeoutMs, APingPoll,
		APingSampleNs, ABenchCount, ABenchSize, ABenchBytes, ABenchNsec, AStatsTxMsgs,
		AStatsTxBytes, AStatsRxMsgs, AStatsRxBytes, AStatsErrors, AStatsDoorbellsRung,
		AStatsDoorbellsSuppressed, AStatsRpcTimeouts}
)

func TestGoValuesArePositions(t *testing.T) {
	for i, v := range cmdValues {
		if v != i {
			t.Errorf("command %s = %d, want %d", cmdNames[i], v, i)
		}
	}
	for i, v := range attrValues {
		if v != i {
			t.Errorf("attribute %s = %d, want %d", attrNames[i], v, i)
		}
	}
	if AMax != len(attrValues)-1 || NodeDown != 0 || NodeUp != 1 {
		t.Errorf("AMax %d, states %d %d", AMax, NodeDown, NodeUp)
	}
}

// specNames lists the "name:" entries of one top-level section of the
// YAML spec, at the given indentation, in order.
func specNames(t *testing.T, spec, section, indent string) []string {
	t.Helper()
	i := strings.Index(spec, "\n"+section+":")
	if i < 0 {
		t.Fatalf("spec has no %s", section)
	}
	body := spec[i+len(section)+2:]
	if j := regexp.MustCompile(`\n[a-z]`).FindStringIndex(body); j != nil {
		body = body[:j[0]]
	}
	re := regexp.MustCompile(`(?m)^` + indent + `name: ([a-z0-9-]+)$`)
	var names []string
	for _, m := range re.FindAllStringSubmatch(body, -1) {
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
	check := func(what string, yamlNames, goNames []string) {
		if len(yamlNames) != len(goNames) {
			t.Fatalf("%s: spec has %v, Go has %v", what, yamlNames, goNames)
		}
		for i, n := range yamlNames {
			if camel(n) != goNames[i] {
				t.Errorf("%s %d: spec %s, Go %s", what, i, n, goNames[i])
			}
		}
	}
	// The spec leaves out the zero values (unspec) that C and Go spell.
	check("attribute", specNames(t, spec, "attribute-sets", "        "), attrNames[1:])
	check("operation", specNames(t, spec, "operations", "      "), cmdNames[1:])
	if g := specNames(t, spec, "mcast-groups", "      "); len(g) != 1 || g[0] != McgrpEvents {
		t.Errorf("multicast groups %v", g)
	}
}
