// Package api holds the wire contract of the generic netlink family
// "popcorn": the Go side of api/uapi/linux/popcorn.h. A test keeps the two
// in step.
package api

// Family name, version and multicast group.
const (
	FamilyName    = "popcorn"
	FamilyVersion = 1
	McgrpEvents   = "events"
	MaxNodes      = 64
	PingMaxCount  = 10000
	MsgMaxLen     = 4 << 20
)

// Commands (enum popcorn_cmd).
const (
	CmdUnspec = iota
	CmdNodeAdd
	CmdNodeDel
	CmdNodeGet
	CmdNodeEvent
	CmdPing
	CmdBench
	CmdStatsGet
)

// Node states (enum popcorn_node_state).
const (
	NodeDown = iota
	NodeUp
)

// Attributes (enum popcorn_attr).
const (
	AUnspec = iota
	APad
	ANodeID
	ANodeSelf
	ANodeTransport
	ANodeEndpoint
	ANodeState
	ANodePeerNonce
	APingCount
	APingSize
	APingTimeoutMs
	APingPoll
	APingSampleNs
	ABenchCount
	ABenchSize
	ABenchBytes
	ABenchNsec
	AStatsTxMsgs
	AStatsTxBytes
	AStatsRxMsgs
	AStatsRxBytes
	AStatsErrors
	AStatsDoorbellsRung
	AStatsDoorbellsSuppressed
	AStatsRpcTimeouts
	AMax = AStatsRpcTimeouts
)
