// Package pcnl talks to the popcorn_msg kernel module over its generic
// netlink family "popcorn".
package pcnl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/popcorn-kernel/popcorn/api"
)

// ErrNotLoaded means the kernel has no "popcorn" family: popcorn_msg.ko is
// not loaded.
var ErrNotLoaded = errors.New("popcorn_msg is not loaded (no generic netlink family \"popcorn\"); insmod popcorn_msg.ko")

// ErrInterrupted means the caller's context ended a request (Ctrl-C).
var ErrInterrupted = errors.New("interrupted")

// Conn is what Client needs of a generic netlink socket; genltest fakes it.
type Conn interface {
	GetFamily(name string) (genetlink.Family, error)
	Execute(m genetlink.Message, family uint16, flags netlink.HeaderFlags) ([]genetlink.Message, error)
	JoinGroup(group uint32) error
	Receive() ([]genetlink.Message, []netlink.Message, error)
	SetDeadline(t time.Time) error
	SetReadDeadline(t time.Time) error
	Close() error
}

// Client is a connection to the family. Once a request was interrupted,
// the connection may still hold its late answer: close the client.
type Client struct {
	c      Conn
	family genetlink.Family
	// interrupt signals the thread with id tid; tests replace it.
	interrupt func(tid int)
}

// Dial opens a generic netlink socket and looks the family up.
func Dial() (*Client, error) {
	// Strict: the kernel's extack message comes back with its errno.
	c, err := genetlink.Dial(&netlink.Config{Strict: true})
	if err != nil {
		return nil, err
	}
	cl, err := New(c)
	if err != nil {
		c.Close()
	}
	return cl, err
}

// New wraps an open connection.
func New(c Conn) (*Client, error) {
	f, err := c.GetFamily(api.FamilyName)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotLoaded
	}
	if err != nil {
		return nil, fmt.Errorf("look up family %s: %w", api.FamilyName, err)
	}
	if f.Version != api.FamilyVersion {
		return nil, fmt.Errorf("kernel speaks %s version %d, this tool version %d",
			api.FamilyName, f.Version, api.FamilyVersion)
	}
	return &Client{c: c, family: f, interrupt: signalThread}, nil
}

// FamilyVersion is the version of the family the kernel speaks.
func (cl *Client) FamilyVersion() int { return int(cl.family.Version) }

// Close closes the socket.
func (cl *Client) Close() error { return cl.c.Close() }

// Error is a request the kernel refused: its errno and extack message.
type Error struct {
	Op      string
	Err     error
	Message string
}

func (e *Error) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("%s: %s (%v)", e.Op, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Op, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

func (cl *Client) execute(op string, cmd uint8, flags netlink.HeaderFlags, enc func(*netlink.AttributeEncoder)) ([]genetlink.Message, error) {
	ae := netlink.NewAttributeEncoder()
	if enc != nil {
		enc(ae)
	}
	data, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	msgs, err := cl.c.Execute(genetlink.Message{
		Header: genetlink.Header{Command: cmd, Version: api.FamilyVersion},
		Data:   data,
	}, cl.family.ID, netlink.Request|flags)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	return msgs, nil
}

// interruptEvery is how often a cancelled request's thread is signalled
// until the request returns: a signal that lands before the thread enters
// the kernel is spent in user space.
const interruptEvery = 20 * time.Millisecond

// executeCtx is execute for requests that run long in the kernel (ping,
// bench), cancelled with ctx.
//
// The kernel runs a generic netlink request inside the sendmsg(2) of the
// thread that sent it, so neither a deadline nor closing the socket stops
// it, and a process-wide SIGINT may well go to another thread. So the
// request runs on a thread of its own, which is signalled when ctx ends:
// the kernel's loops stop on a pending signal and fail the request with
// ECANCELED. The signal is SIGURG, which the Go runtime takes already (for
// preemption) and ignores when it is not for it.
func (cl *Client) executeCtx(ctx context.Context, op string, cmd uint8, enc func(*netlink.AttributeEncoder)) ([]genetlink.Message, error) {
	if ctx.Err() != nil {
		return nil, &Error{Op: op, Err: ErrInterrupted}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := unix.Gettid()
	done := make(chan struct{})
	signalled := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(signalled)
		// Whatever the kernel answers, the caller waits no longer.
		cl.c.SetDeadline(time.Now())
		t := time.NewTicker(interruptEvery)
		defer t.Stop()
		for {
			cl.interrupt(tid)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	msgs, err := cl.execute(op, cmd, 0, enc)
	// Any signal stops the kernel's loop, and the Go runtime signals its
	// threads too (SIGURG, to preempt): one that was not ours is no
	// reason to give up, so ask again.
	for errors.Is(err, unix.ECANCELED) && ctx.Err() == nil {
		msgs, err = cl.execute(op, cmd, 0, enc)
	}
	close(done)
	if !stop() {
		// No signal may reach this thread once it is unlocked.
		<-signalled
		return nil, &Error{Op: op, Err: ErrInterrupted}
	}
	return msgs, err
}

func signalThread(tid int) {
	unix.Tgkill(unix.Getpid(), tid, unix.SIGURG)
}

// wrapErr keeps the errno and the kernel's extack message of a failure.
func wrapErr(op string, err error) error {
	e := &Error{Op: op, Err: err}
	var oe *netlink.OpError
	if errors.As(err, &oe) {
		e.Err, e.Message = oe.Err, oe.Message
	}
	var se *os.SyscallError
	if errors.As(e.Err, &se) {
		e.Err = se.Err
	}
	return e
}

// decodeEach calls fn with a decoder positioned on each attribute of each
// message.
func decodeEach(msgs []genetlink.Message, fn func(*netlink.AttributeDecoder)) error {
	for _, m := range msgs {
		ad, err := netlink.NewAttributeDecoder(m.Data)
		if err != nil {
			return err
		}
		for ad.Next() {
			fn(ad)
		}
		if err := ad.Err(); err != nil {
			return err
		}
	}
	return nil
}

// Node is one entry of the node table.
type Node struct {
	ID        int    `json:"id"`
	Self      bool   `json:"self,omitempty"`
	Transport string `json:"transport,omitempty"`
	Endpoint  string `json:"endpoint,omitempty"`
	Up        bool   `json:"up"`
	PeerNonce uint64 `json:"peer_nonce,omitempty"`
}

func decodeNode(b []byte) (Node, error) {
	var n Node
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return n, err
	}
	for ad.Next() {
		switch ad.Type() {
		case api.ANodeID:
			n.ID = int(ad.Uint32())
		case api.ANodeSelf:
			n.Self = true
		case api.ANodeTransport:
			n.Transport = ad.String()
		case api.ANodeEndpoint:
			n.Endpoint = ad.String()
		case api.ANodeState:
			n.Up = ad.Uint8() == api.NodeStateUp
		case api.ANodePeerNonce:
			n.PeerNonce = ad.Uint64()
		}
	}
	return n, ad.Err()
}

// AddSelf names this kernel's own node id.
func (cl *Client) AddSelf(id int) error {
	_, err := cl.execute("node add", api.CmdNodeAdd, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
		ae.Uint32(api.ANodeID, uint32(id))
		ae.Flag(api.ANodeSelf, true)
	})
	return err
}

// AddNode adds a peer reached through transport at endpoint.
func (cl *Client) AddNode(id int, transport, endpoint string) error {
	_, err := cl.execute("node add", api.CmdNodeAdd, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
		ae.Uint32(api.ANodeID, uint32(id))
		ae.String(api.ANodeTransport, transport)
		ae.String(api.ANodeEndpoint, endpoint)
	})
	return err
}

// DelNode removes a peer.
func (cl *Client) DelNode(id int) error {
	_, err := cl.execute("node del", api.CmdNodeDel, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
		ae.Uint32(api.ANodeID, uint32(id))
	})
	return err
}

// Nodes dumps the node table, this kernel included.
func (cl *Client) Nodes() ([]Node, error) {
	msgs, err := cl.execute("node list", api.CmdNodeGet, netlink.Dump, nil)
	if err != nil {
		return nil, err
	}
	nodes := make([]Node, 0, len(msgs))
	for _, m := range msgs {
		n, err := decodeNode(m.Data)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// PingOptions shape a ping; zero values take the kernel's defaults.
type PingOptions struct {
	Count   int
	Size    int
	Timeout time.Duration
	Poll    bool
}

// Ping sends echo RPCs to a node and returns each round trip. Cancelling
// ctx stops it between round trips with ErrInterrupted.
func (cl *Client) Ping(ctx context.Context, id int, o PingOptions) ([]time.Duration, error) {
	msgs, err := cl.executeCtx(ctx, "ping", api.CmdPing, func(ae *netlink.AttributeEncoder) {
		ae.Uint32(api.ANodeID, uint32(id))
		if o.Count > 0 {
			ae.Uint32(api.APingCount, uint32(o.Count))
		}
		if o.Size >= 0 {
			ae.Uint32(api.APingSize, uint32(o.Size))
		}
		if o.Timeout > 0 {
			ae.Uint32(api.APingTimeoutMs, uint32(o.Timeout.Milliseconds()))
		}
		if o.Poll {
			ae.Flag(api.APingPoll, true)
		}
	})
	if err != nil {
		return nil, err
	}
	var samples []time.Duration
	err = decodeEach(msgs, func(ad *netlink.AttributeDecoder) {
		if ad.Type() == api.APingSampleNs {
			samples = append(samples, time.Duration(ad.Uint64()))
		}
	})
	return samples, err
}

// BenchResult is what a kernel-side bench measured.
type BenchResult struct {
	Bytes uint64        `json:"bytes"`
	Time  time.Duration `json:"ns"`
}

// MBps is the throughput in megabytes (10^6) per second.
func (r BenchResult) MBps() float64 {
	if r.Time <= 0 {
		return 0
	}
	return float64(r.Bytes) / r.Time.Seconds() / 1e6
}

// Bench sends count one-way messages of size bytes to a node. Cancelling
// ctx stops it with ErrInterrupted.
func (cl *Client) Bench(ctx context.Context, id, count, size int) (BenchResult, error) {
	var r BenchResult
	msgs, err := cl.executeCtx(ctx, "bench", api.CmdBench, func(ae *netlink.AttributeEncoder) {
		ae.Uint32(api.ANodeID, uint32(id))
		ae.Uint32(api.ABenchCount, uint32(count))
		ae.Uint32(api.ABenchSize, uint32(size))
	})
	if err != nil {
		return r, err
	}
	err = decodeEach(msgs, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case api.ABenchBytes:
			r.Bytes = ad.Uint64()
		case api.ABenchNsec:
			r.Time = time.Duration(ad.Uint64())
		}
	})
	return r, err
}

// Stats are the counters of one peer node.
type Stats struct {
	ID                  int    `json:"id"`
	Transport           string `json:"transport"`
	TxMsgs              uint64 `json:"tx_msgs"`
	TxBytes             uint64 `json:"tx_bytes"`
	RxMsgs              uint64 `json:"rx_msgs"`
	RxBytes             uint64 `json:"rx_bytes"`
	Errors              uint64 `json:"errors"`
	DoorbellsRung       uint64 `json:"doorbells_rung"`
	DoorbellsSuppressed uint64 `json:"doorbells_suppressed"`
	RPCTimeouts         uint64 `json:"rpc_timeouts"`
}

// Stats dumps the counters of every peer.
func (cl *Client) Stats() ([]Stats, error) {
	msgs, err := cl.execute("stats", api.CmdStatsGet, netlink.Dump, nil)
	if err != nil {
		return nil, err
	}
	out := make([]Stats, 0, len(msgs))
	for _, m := range msgs {
		var st Stats
		err := decodeEach([]genetlink.Message{m}, func(ad *netlink.AttributeDecoder) {
			decodeStat(ad, &st)
		})
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func decodeStat(ad *netlink.AttributeDecoder, s *Stats) {
	switch ad.Type() {
	case api.ANodeID:
		s.ID = int(ad.Uint32())
	case api.ANodeTransport:
		s.Transport = ad.String()
	case api.AStatsTxMsgs:
		s.TxMsgs = ad.Uint64()
	case api.AStatsTxBytes:
		s.TxBytes = ad.Uint64()
	case api.AStatsRxMsgs:
		s.RxMsgs = ad.Uint64()
	case api.AStatsRxBytes:
		s.RxBytes = ad.Uint64()
	case api.AStatsErrors:
		s.Errors = ad.Uint64()
	case api.AStatsDoorbellsRung:
		s.DoorbellsRung = ad.Uint64()
	case api.AStatsDoorbellsSuppressed:
		s.DoorbellsSuppressed = ad.Uint64()
	case api.AStatsRpcTimeouts:
		s.RPCTimeouts = ad.Uint64()
	}
}

// Monitor calls fn with every node event until ctx is done.
func (cl *Client) Monitor(ctx context.Context, fn func(Node)) error {
	var group uint32
	for _, g := range cl.family.Groups {
		if g.Name == api.McgrpEvents {
			group = g.ID
		}
	}
	if group == 0 {
		return fmt.Errorf("family %s has no group %q", api.FamilyName, api.McgrpEvents)
	}
	if err := cl.c.JoinGroup(group); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { cl.c.SetReadDeadline(time.Now()) })
	defer stop()
	for {
		msgs, _, err := cl.c.Receive()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, m := range msgs {
			if m.Header.Command != api.CmdNodeEvent {
				continue
			}
			n, err := decodeNode(m.Data)
			if err != nil {
				return err
			}
			fn(n)
		}
	}
}
