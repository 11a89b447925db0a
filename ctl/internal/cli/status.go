package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/popcorn-kernel/popcorn/ctl/internal/pcnl"
	"github.com/popcorn-kernel/popcorn/ctl/internal/snapbean"
)

// nodeStatus is a node and, for a peer, its link's counters.
type nodeStatus struct {
	pcnl.Node
	Stats *pcnl.Stats `json:"stats,omitempty"`
}

type status struct {
	Nodes    []nodeStatus     `json:"nodes"`
	SnapBean *snapbean.Status `json:"snapbean"`
}

func newStatusCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Nodes, their transports and link health, and Snap Bean, at a glance",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.withClient(func(cl *pcnl.Client) error {
				st, err := readStatus(cl)
				if err != nil {
					return err
				}
				return o.print(cmd.OutOrStdout(), st, st.table)
			})
		},
	}
}

func readStatus(cl *pcnl.Client) (status, error) {
	var st status
	nodes, err := cl.Nodes()
	if err != nil {
		return st, err
	}
	stats, err := cl.Stats()
	if err != nil {
		return st, err
	}
	byID := map[int]*pcnl.Stats{}
	for i := range stats {
		byID[stats[i].ID] = &stats[i]
	}
	for _, n := range nodes {
		st.Nodes = append(st.Nodes, nodeStatus{n, byID[n.ID]})
	}
	st.SnapBean, err = snapbean.Get()
	return st, err
}

func (st status) table(tw *tabwriter.Writer) {
	fmt.Fprintln(tw, "NODE\tSTATE\tTRANSPORT\tENDPOINT\tTX_MSGS\tRX_MSGS\tERRORS\tRPC_TIMEOUTS")
	for _, n := range st.Nodes {
		state, tr, ep := "down", n.Transport, n.Endpoint
		if n.Up {
			state = "up"
		}
		if n.Self {
			tr, ep = "self", "-"
		}
		if n.Stats == nil {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t-\t-\t-\t-\n", n.ID, state, tr, ep)
			continue
		}
		s := n.Stats
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", n.ID, state, tr, ep,
			s.TxMsgs, s.RxMsgs, s.Errors, s.RPCTimeouts)
	}
	b := st.SnapBean
	if b == nil {
		fmt.Fprintln(tw, "\nsnapbean: no device")
		return
	}
	carrier := "no carrier"
	if b.Carrier {
		carrier = "carrier"
	}
	admin := "down"
	if b.Up {
		admin = "up"
	}
	fmt.Fprintf(tw, "\nsnapbean %s: %s, %s, mtu %d, rx %d packets %d bytes %d dropped, tx %d packets %d bytes %d dropped\n",
		b.Name, admin, carrier, b.MTU, b.RxPackets, b.RxBytes, b.RxDropped, b.TxPackets, b.TxBytes, b.TxDropped)
}
