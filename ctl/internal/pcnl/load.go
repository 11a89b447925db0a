package pcnl

import (
	"fmt"
	"math"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"

	"github.com/popcorn-kernel/popcorn/api"
)

// Load is what a kernel reports of its service for Angel.
type Load struct {
	ID          int           `json:"id"`
	AcceptQueue uint32        `json:"accept_queue"`
	Established uint32        `json:"established"`
	CPUBusy     float64       `json:"cpu_busy"` // 0..1
	Age         time.Duration `json:"age_ns"`   // since the report arrived
}

// ReportLoad hands this kernel's load to its core, which keeps it and
// sends it to every node that is up.
func (cl *Client) ReportLoad(l Load) error {
	if l.CPUBusy < 0 || l.CPUBusy > 1 || math.IsNaN(l.CPUBusy) {
		return fmt.Errorf("load set: CPU busy %v is not a fraction 0..1", l.CPUBusy)
	}
	busy := uint32(math.Round(l.CPUBusy * api.LoadBusyMax))
	_, err := cl.execute("load set", api.CmdLoadSet, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
		ae.Uint32(api.ALoadAcceptQueue, l.AcceptQueue)
		ae.Uint32(api.ALoadEstablished, l.Established)
		ae.Uint32(api.ALoadCpuBusy, busy)
	})
	return err
}

// Loads dumps the latest load of every node that reported one since it
// came up, this kernel's included.
func (cl *Client) Loads() ([]Load, error) {
	msgs, err := cl.execute("load get", api.CmdLoadGet, netlink.Dump, nil)
	if err != nil {
		return nil, err
	}
	out := make([]Load, 0, len(msgs))
	for _, m := range msgs {
		var l Load
		err := decodeEach([]genetlink.Message{m}, func(ad *netlink.AttributeDecoder) {
			decodeLoad(ad, &l)
		})
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

func decodeLoad(ad *netlink.AttributeDecoder, l *Load) {
	switch ad.Type() {
	case api.ANodeID:
		l.ID = int(ad.Uint32())
	case api.ALoadAcceptQueue:
		l.AcceptQueue = ad.Uint32()
	case api.ALoadEstablished:
		l.Established = ad.Uint32()
	case api.ALoadCpuBusy:
		l.CPUBusy = float64(ad.Uint32()) / api.LoadBusyMax
	case api.ALoadAgeMs:
		l.Age = time.Duration(ad.Uint32()) * time.Millisecond
	}
}
