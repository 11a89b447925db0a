package pcnl

import (
	"errors"
	"os"
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
	s, err := cl.Ping(1, PingOptions{Count: 3, Size: 64, Timeout: time.Second, Poll: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 3 || s[0] != 1500 || s[1] != 900 || s[2] != 2000 {
		t.Fatalf("samples %v", s)
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
	r, err := cl.Bench(2, 10, 200_000)
	if err != nil || r.MBps() != 2000 {
		t.Fatalf("bench %+v %v (%.1f MB/s)", r, err, r.MBps())
	}
}
