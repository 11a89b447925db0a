package pcnl

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/popcorn-kernel/popcorn/api"
)

var testFamily = genetlink.Family{
	ID: 33, Name: api.FamilyName, Version: api.FamilyVersion,
	Groups: []genetlink.MulticastGroup{{ID: 7, Name: api.McgrpEvents}},
}

func attrs(t *testing.T, enc func(*netlink.AttributeEncoder)) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	enc(ae)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, b []byte) map[uint16][]byte {
	t.Helper()
	got := map[uint16][]byte{}
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		t.Fatal(err)
	}
	for ad.Next() {
		got[ad.Type()] = ad.Bytes()
	}
	return got
}

func fake(t *testing.T, fn genltest.Func) *Client {
	t.Helper()
	c := genltest.Dial(genltest.ServeFamily(testFamily, fn))
	cl, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

func TestMissingFamilyIsNotLoaded(t *testing.T) {
	c := genltest.Dial(func(genetlink.Message, netlink.Message) ([]genetlink.Message, error) {
		return nil, genltest.Error(int(unix.ENOENT))
	})
	if _, err := New(c); !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("New: %v, want ErrNotLoaded", err)
	}
}

func TestVersionMismatch(t *testing.T) {
	f := testFamily
	f.Version = 9
	c := genltest.Dial(genltest.ServeFamily(f, nil))
	if _, err := New(c); err == nil {
		t.Fatal("accepted a kernel of another version")
	}
}

func TestAddNodeEncodes(t *testing.T) {
	var got map[uint16][]byte
	var cmd uint8
	cl := fake(t, func(req genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
		if req.Header.Command == 0 {
			return nil, nil // the fake reads again for the ack
		}
		cmd, got = req.Header.Command, decode(t, req.Data)
		if nreq.Header.Flags&netlink.Acknowledge == 0 {
			t.Error("write without an ack")
		}
		return nil, nil
	})
	if err := cl.AddNode(3, "shm", "1"); err != nil {
		t.Fatal(err)
	}
	if cmd != api.CmdNodeAdd || string(got[api.ANodeTransport]) != "shm\x00" ||
		string(got[api.ANodeEndpoint]) != "1\x00" || len(got[api.ANodeID]) != 4 || got[api.ANodeID][0] != 3 {
		t.Fatalf("cmd %d attrs %v", cmd, got)
	}
	if err := cl.AddSelf(0); err != nil {
		t.Fatal(err)
	}
	if _, ok := got[api.ANodeSelf]; !ok {
		t.Fatal("self flag missing")
	}
}

func TestKernelErrnoReachesCaller(t *testing.T) {
	cl := fake(t, func(genetlink.Message, netlink.Message) ([]genetlink.Message, error) {
		return nil, genltest.Error(int(unix.EPERM))
	})
	err := cl.DelNode(9)
	if !errors.Is(err, unix.EPERM) || err.Error() != "node del: operation not permitted" {
		t.Fatalf("error %v", err)
	}
}

func TestErrorKeepsExtack(t *testing.T) {
	err := wrapErr("node del", &netlink.OpError{Op: "receive", Err: unix.ENOENT, Message: "no such node"})
	var e *Error
	if !errors.As(err, &e) || e.Message != "no such node" || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error %#v", err)
	}
	if err.Error() != "node del: no such node (no such file or directory)" {
		t.Fatalf("message %q", err.Error())
	}
}

func TestNodesDecodes(t *testing.T) {
	cl := fake(t, func(req genetlink.Message, _ netlink.Message) ([]genetlink.Message, error) {
		return []genetlink.Message{
			{Data: attrs(t, func(ae *netlink.AttributeEncoder) {
				ae.Uint32(api.ANodeID, 0)
				ae.Flag(api.ANodeSelf, true)
				ae.Uint8(api.ANodeState, api.NodeStateUp)
			})},
			{Data: attrs(t, func(ae *netlink.AttributeEncoder) {
				ae.Uint32(api.ANodeID, 1)
				ae.String(api.ANodeTransport, "shm")
				ae.String(api.ANodeEndpoint, "1")
				ae.Uint8(api.ANodeState, api.NodeStateDown)
				ae.Uint16(99, 1) // a newer kernel's attribute is ignored
			})},
		}, nil
	})
	nodes, err := cl.Nodes()
	if err != nil {
		t.Fatal(err)
	}
	want := []Node{{ID: 0, Self: true, Up: true}, {ID: 1, Transport: "shm", Endpoint: "1"}}
	if len(nodes) != 2 || nodes[0] != want[0] || nodes[1] != want[1] {
		t.Fatalf("nodes %+v", nodes)
	}
}

func TestPingDecodesSamples(t *testing.T) {
	cl := fake(t, func(req genetlink.Message, _ netlink.Message) ([]genetlink.Message, error) {
		got := decode(t, req.Data)
		if _, ok := got[api.APingPoll]; !ok || got[api.APingCount][0] != 3 {
			t.Errorf("request %v", got)
		}
		return []genetlink.Message{{Data: attrs(t, func(ae *netlink.AttributeEncoder) {
			for _, ns := range []uint64{1500, 900, 2000} {
				ae.Uint64(api.APingSampleNs, ns)
			}
		})}}, nil
	})
	cl.interrupt = func(int) { t.Error("a request that was not cancelled was signalled") }
	ctx, cancel := context.WithCancel(t.Context())
	s, err := cl.Ping(ctx, 1, PingOptions{Count: 3, Size: 64, Timeout: time.Second, Poll: true})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 3 || s[0] != 1500 || s[1] != 900 || s[2] != 2000 {
		t.Fatalf("samples %v", s)
	}
}

// A signal that is not the caller's (the Go runtime preempts with SIGURG)
// stops the kernel's ping all the same: the client asks again.
func TestPingRetriesAStraySignal(t *testing.T) {
	calls := 0
	cl := fake(t, func(req genetlink.Message, _ netlink.Message) ([]genetlink.Message, error) {
		calls++
		if calls == 1 {
			return nil, genltest.Error(int(unix.ECANCELED))
		}
		return []genetlink.Message{{Data: attrs(t, func(ae *netlink.AttributeEncoder) {
			ae.Uint64(api.APingSampleNs, 700)
		})}}, nil
	})
	s, err := cl.Ping(t.Context(), 1, PingOptions{Count: 1})
	if err != nil || len(s) != 1 || calls != 2 {
		t.Fatalf("samples %v, err %v after %d requests", s, err, calls)
	}
}

func TestStatsAndBench(t *testing.T) {
	cl := fake(t, func(req genetlink.Message, _ netlink.Message) ([]genetlink.Message, error) {
		if req.Header.Command == api.CmdBench {
			return []genetlink.Message{{Data: attrs(t, func(ae *netlink.AttributeEncoder) {
				ae.Uint64(api.ABenchBytes, 2_000_000)
				ae.Uint64(api.ABenchNsec, 1_000_000)
			})}}, nil
		}
		return []genetlink.Message{{Data: attrs(t, func(ae *netlink.AttributeEncoder) {
			ae.Uint32(api.ANodeID, 2)
			ae.String(api.ANodeTransport, "shm")
			ae.Uint64(api.AStatsTxMsgs, 10)
			ae.Uint64(api.AStatsDoorbellsSuppressed, 7)
		})}}, nil
	})
	st, err := cl.Stats()
	if err != nil || len(st) != 1 || st[0].ID != 2 || st[0].TxMsgs != 10 || st[0].DoorbellsSuppressed != 7 {
		t.Fatalf("stats %+v %v", st, err)
	}
	r, err := cl.Bench(t.Context(), 2, 10, 200_000)
	if err != nil || r.MBps() != 2000 {
		t.Fatalf("bench %+v %v (%.1f MB/s)", r, err, r.MBps())
	}
}

// blockingPing is a fake kernel whose ping runs until wake says it was
// interrupted (as the kernel's loop stops on a pending signal), then fails
// with ECANCELED. It reports the thread it ran on.
func blockingPing(t *testing.T, started chan<- int, wake <-chan struct{}) genltest.Func {
	return func(req genetlink.Message, _ netlink.Message) ([]genetlink.Message, error) {
		if req.Header.Command != api.CmdPing {
			return nil, nil
		}
		started <- unix.Gettid()
		select {
		case <-wake:
		case <-time.After(10 * time.Second):
			t.Error("the running request was never interrupted")
		}
		return nil, genltest.Error(int(unix.ECANCELED))
	}
}

func TestCancelSignalsTheRequestThread(t *testing.T) {
	started := make(chan int, 1)
	wake := make(chan struct{})
	cl := fake(t, blockingPing(t, started, wake))
	var once sync.Once
	var mu sync.Mutex
	var signalled []int
	cl.interrupt = func(tid int) {
		mu.Lock()
		signalled = append(signalled, tid)
		mu.Unlock()
		once.Do(func() { close(wake) })
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error)
	go func() {
		_, err := cl.Ping(ctx, 1, PingOptions{Count: 10000})
		errc <- err
	}()
	tid := <-started
	cancel()
	err := <-errc
	if !errors.Is(err, ErrInterrupted) || err.Error() != "ping: interrupted" {
		t.Fatalf("error %v, want %v", err, ErrInterrupted)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range signalled {
		if s != tid {
			t.Errorf("signalled thread %d, the request ran on %d", s, tid)
		}
	}
	if len(signalled) == 0 {
		t.Error("nothing signalled")
	}
}

// The real signal reaches the process, and the Go runtime survives it.
func TestCancelSendsSIGURG(t *testing.T) {
	urg := make(chan os.Signal, 1)
	signal.Notify(urg, unix.SIGURG)
	defer signal.Stop(urg)
	started := make(chan int, 1)
	wake := make(chan struct{})
	cl := fake(t, blockingPing(t, started, wake))
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error)
	go func() {
		_, err := cl.Ping(ctx, 1, PingOptions{})
		errc <- err
	}()
	<-started
	cancel()
	select {
	case <-urg:
	case <-time.After(10 * time.Second):
		t.Error("no SIGURG")
	}
	close(wake)
	if err := <-errc; !errors.Is(err, ErrInterrupted) {
		t.Fatalf("error %v", err)
	}
}

func TestCancelledBeforehandNeverReachesTheKernel(t *testing.T) {
	cl := fake(t, func(req genetlink.Message, _ netlink.Message) ([]genetlink.Message, error) {
		t.Errorf("command %d sent", req.Header.Command)
		return nil, nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := cl.Ping(ctx, 1, PingOptions{}); !errors.Is(err, ErrInterrupted) {
		t.Errorf("ping: %v", err)
	}
	if _, err := cl.Bench(ctx, 1, 1, 1); !errors.Is(err, ErrInterrupted) || err.Error() != "bench: interrupted" {
		t.Errorf("bench: %v", err)
	}
}
