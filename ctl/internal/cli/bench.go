package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/popcorn-kernel/popcorn/api"
	"github.com/popcorn-kernel/popcorn/ctl/internal/pcnl"
)

func newBenchCmd(o *options) *cobra.Command {
	var count, size int
	cmd := &cobra.Command{
		Use:   "bench NODE",
		Short: "Kernel-side one-way throughput to a node",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseNodeID(args[0])
			if err != nil {
				return err
			}
			if size < 0 || size > api.MsgMaxLen || count < 1 {
				return fmt.Errorf("size 0..%d and count >= 1, please", api.MsgMaxLen)
			}
			return o.withClient(func(cl *pcnl.Client) error {
				r, err := cl.Bench(cmd.Context(), id, count, size)
				if err != nil {
					return err
				}
				out := struct {
					Node  int     `json:"node"`
					Size  int     `json:"size"`
					Count int     `json:"count"`
					Bytes uint64  `json:"bytes"`
					Ns    int64   `json:"ns"`
					MBps  float64 `json:"MBps"`
				}{id, size, count, r.Bytes, r.Time.Nanoseconds(), r.MBps()}
				return o.print(cmd.OutOrStdout(), out, func(tw *tabwriter.Writer) {
					fmt.Fprintln(tw, "NODE\tSIZE\tCOUNT\tMB/s")
					fmt.Fprintf(tw, "%d\t%d\t%d\t%.1f\n", id, size, count, r.MBps())
				})
			})
		},
	}
	cmd.Flags().IntVar(&count, "count", 1000, "messages")
	cmd.Flags().IntVar(&size, "size", 65536, "bytes per message")
	return cmd
}
