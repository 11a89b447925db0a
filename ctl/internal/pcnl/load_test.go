package pcnl

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"

	"github.com/popcorn-kernel/popcorn/api"
)

func TestReportLoadEncodes(t *testing.T) {
	var got map[uint16][]byte
	cl := fake(t, func(req genetlink.Message, _ netlink.Message) ([]genetlink.Message, error) {
		switch req.Header.Command {
		case 0: // the fake reads again for the ack
		case api.CmdLoadSet:
			got = decode(t, req.Data)
		default:
			t.Errorf("command %d", req.Header.Command)
		}
		return nil, nil
	})
	if err := cl.ReportLoad(Load{AcceptQueue: 3, Established: 40, CPUBusy: 0.5}); err != nil {
		t.Fatal(err)
	}
	want := map[uint16]uint32{api.ALoadAcceptQueue: 3, api.ALoadEstablished: 40, api.ALoadCpuBusy: 500}
	for a, v := range want {
		if b := got[a]; len(b) != 4 || binary.NativeEndian.Uint32(b) != v {
			t.Errorf("attribute %d: %x, want %d", a, b, v)
		}
	}
	for _, busy := range []float64{-0.1, 1.01} {
		if err := cl.ReportLoad(Load{CPUBusy: busy}); err == nil {
			t.Errorf("CPU busy %v accepted", busy)
		}
	}
}

func TestLoadsDecode(t *testing.T) {
	cl := fake(t, func(genetlink.Message, netlink.Message) ([]genetlink.Message, error) {
		return []genetlink.Message{{Data: attrs(t, func(ae *netlink.AttributeEncoder) {
			ae.Uint32(api.ANodeID, 2)
			ae.Uint32(api.ALoadAcceptQueue, 9)
			ae.Uint32(api.ALoadEstablished, 12)
			ae.Uint32(api.ALoadCpuBusy, 250)
			ae.Uint32(api.ALoadAgeMs, 80)
		})}}, nil
	})
	loads, err := cl.Loads()
	want := Load{ID: 2, AcceptQueue: 9, Established: 12, CPUBusy: 0.25, Age: 80 * time.Millisecond}
	if err != nil || len(loads) != 1 || loads[0] != want {
		t.Fatalf("loads %+v %v, want %+v", loads, err, want)
	}
}
