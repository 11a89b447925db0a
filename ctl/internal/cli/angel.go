package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/popcorn-kernel/popcorn/ctl/internal/angel"
	"github.com/popcorn-kernel/popcorn/ctl/internal/pcnl"
)

func newAngelCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "angel",
		Short: "Angel, the balancer of new connections: its table, loads and moves",
	}
	cmd.AddCommand(newAngelStatusCmd(o), newAngelSetCmd())
	return cmd
}

// angelNode is one kernel's line of angel status.
type angelNode struct {
	ID       int            `json:"id"`
	Buckets  int            `json:"buckets"`
	NewFlows uint64         `json:"new_flows"`
	Packets  uint64         `json:"packets"`
	Load     *pcnl.Load     `json:"load,omitempty"`
	Override angel.Override `json:"override"`
}

type angelReport struct {
	Steering bool          `json:"steering"`
	Nodes    []angelNode   `json:"nodes"`
	Status   *angel.Status `json:"status,omitempty"`
}

func newAngelStatusCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Buckets, new connections and load of every kernel, and the latest moves",
		Long: `On the kernel that owns the service's NIC: how many of the table's
buckets name each kernel, the connections and packets the NIC sent it,
the load it last reported, the operator's overrides, and the policy's
latest moves (from popcornd's ` + angel.StatusFile + `). Elsewhere: the loads.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var rep angelReport
			err := o.withClient(func(cl *pcnl.Client) error {
				var err error
				rep, err = angelStatus(cl)
				return err
			})
			if err != nil {
				return err
			}
			return o.print(cmd.OutOrStdout(), rep, func(tw *tabwriter.Writer) { rep.table(tw) })
		},
	}
}

func angelStatus(cl *pcnl.Client) (angelReport, error) {
	var rep angelReport
	loads, err := cl.Loads()
	if err != nil {
		return rep, err
	}
	byID := map[int]*angelNode{}
	node := func(id int) *angelNode {
		if byID[id] == nil {
			byID[id] = &angelNode{ID: id}
		}
		return byID[id]
	}
	for i := range loads {
		node(loads[i].ID).Load = &loads[i]
	}
	dp, err := angel.OpenPinned(angel.PinDir)
	switch {
	case errors.Is(err, angel.ErrNotRunning):
	case err != nil:
		return rep, err
	default:
		defer dp.Close()
		if err := rep.readDataplane(dp, node); err != nil {
			return rep, err
		}
		rep.Status = readStatusFile()
	}
	for id := range angel.MaxNodes {
		if n := byID[id]; n != nil {
			rep.Nodes = append(rep.Nodes, *n)
		}
	}
	return rep, nil
}

func (rep *angelReport) readDataplane(dp *angel.Dataplane, node func(int) *angelNode) error {
	s, err := dp.Steering()
	if err != nil || !s.Service.IsValid() {
		return err
	}
	rep.Steering = true
	table, err := dp.Table()
	if err != nil {
		return err
	}
	stats, err := dp.Stats()
	if err != nil {
		return err
	}
	over, err := dp.Overrides()
	if err != nil {
		return err
	}
	for _, id := range table {
		node(int(id)).Buckets++
	}
	for id := range angel.MaxNodes {
		if stats[id] != (angel.NodeStats{}) || over[id] != (angel.Override{}) {
			n := node(id)
			n.NewFlows, n.Packets, n.Override = stats[id].NewFlows, stats[id].Packets, over[id]
		}
	}
	return nil
}

// readStatusFile is popcornd's record of moves, if it wrote one.
func readStatusFile() *angel.Status {
	b, err := os.ReadFile(angel.StatusFile)
	if err != nil {
		return nil
	}
	var s angel.Status
	if json.Unmarshal(b, &s) != nil {
		return nil
	}
	return &s
}

var modeNames = []string{"auto", "drain", "hold"}

func (rep *angelReport) table(tw *tabwriter.Writer) {
	if !rep.Steering {
		fmt.Fprintln(tw, "this kernel does not steer the service (not its NIC owner, or popcornd not running)")
	}
	fmt.Fprintln(tw, "NODE\tBUCKETS\tNEW_FLOWS\tPACKETS\tACCEPT_QUEUE\tESTABLISHED\tCPU_BUSY\tMODE\tWEIGHT")
	for _, n := range rep.Nodes {
		q, e, busy := "-", "-", "-"
		if n.Load != nil {
			q, e = strconv.Itoa(int(n.Load.AcceptQueue)), strconv.Itoa(int(n.Load.Established))
			busy = fmt.Sprintf("%.1f%%", 100*n.Load.CPUBusy)
		}
		w := "config"
		if n.Override.Weight > 0 {
			w = strconv.Itoa(int(n.Override.Weight))
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", n.ID, n.Buckets, n.NewFlows, n.Packets,
			q, e, busy, modeNames[n.Override.Mode], w)
	}
	if s := rep.Status; s != nil {
		fmt.Fprintf(tw, "\nMOVES\tdown %d\tload %d\tshare %d\tdrain %d\n", s.Moves[angel.ReasonDown],
			s.Moves[angel.ReasonLoad], s.Moves[angel.ReasonShare], s.Moves[angel.ReasonDrain])
		recent := s.Recent[max(0, len(s.Recent)-10):]
		for _, m := range recent {
			fmt.Fprintf(tw, "%s\tbucket %d: node %d -> %d (%s)\n", m.At.Format("15:04:05.000"), m.Bucket, m.From, m.To, m.Why)
		}
	}
}

func newAngelSetCmd() *cobra.Command {
	var mode string
	var weight uint32
	cmd := &cobra.Command{
		Use:   "set NODE",
		Short: "Override the policy for a kernel: drain it, hold its buckets, or give it a weight",
		Long: `Sets the mode of a kernel for Angel's policy: auto (the policy decides),
drain (its buckets go to the others, a few each period, and it gains
none) or hold (its buckets stay, it gains none); and a weight that
replaces the configuration's (0: the configuration's). Runs on the
kernel that owns the service's NIC, before or while popcornd steers
there; popcornd follows at its next period.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseUint(args[0], 10, 32)
			if err != nil || id >= angel.MaxNodes {
				return fmt.Errorf("node %q: want an id 0..%d", args[0], angel.MaxNodes-1)
			}
			m := -1
			for i, name := range modeNames {
				if name == mode {
					m = i
				}
			}
			if m < 0 {
				return fmt.Errorf("mode %q: want auto, drain or hold", mode)
			}
			// Open, not OpenPinned: an override may be set before
			// popcornd first steers, and the maps are made for it.
			dp, err := angel.Open(angel.PinDir)
			if err != nil {
				return err
			}
			defer dp.Close()
			return dp.SetOverride(uint32(id), angel.Override{Mode: angel.Mode(m), Weight: weight})
		},
	}
	cmd.Flags().StringVar(&mode, "mode", "auto", "auto, drain or hold")
	cmd.Flags().Uint32Var(&weight, "weight", 0, "weight in place of the configuration's; 0: the configuration's")
	return cmd
}
