// Package api holds the wire contract of the generic netlink family
// "popcorn": the Go side of api/uapi/linux/popcorn.h, which api/gen.sh
// generates from Documentation/netlink/specs/popcorn.yaml. A test keeps the
// three in step.
package api

// Family name, version, multicast group and limits.
const (
	FamilyName    = "popcorn"
	FamilyVersion = 1
	McgrpEvents   = "events"
	MaxNodes      = 64
	PingMaxCount  = 10000
	MsgMaxLen     = 4 << 20
	LoadBusyMax   = 1000
)

// Commands (enum popcorn_cmd); 0 is no command.
const (
	CmdNodeAdd = iota + 1
	CmdNodeDel
	CmdNodeGet
	CmdNodeEvent
	CmdPing
	CmdBench
	CmdStatsGet
	CmdLoadSet
	CmdLoadGet
	CmdMax = CmdLoadGet
)

// Node states (enum popcorn_node_state).
const (
	NodeStateDown = iota
	NodeStateUp
)

// Attributes (enum popcorn_attr); 0 is no attribute.
const (
	APad = iota + 1
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
	ALoadAcceptQueue
	ALoadEstablished
	ALoadCpuBusy
	ALoadAgeMs
	AMax = ALoadAgeMs
)
