package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/popcorn-kernel/popcorn/ctl/internal/pcnl"
)

func newStatsCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "stats",
		Short: "Per-node counters: messages, bytes, errors, doorbells",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.withClient(func(cl *pcnl.Client) error {
				stats, err := cl.Stats()
				if err != nil {
					return err
				}
				return o.print(cmd.OutOrStdout(), stats, func(tw *tabwriter.Writer) {
					fmt.Fprintln(tw, "NODE\tTRANSPORT\tTX_MSGS\tTX_BYTES\tRX_MSGS\tRX_BYTES\tERRORS\tRPC_TIMEOUTS\tDOORBELLS\tSUPPRESSED")
					for _, s := range stats {
						fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", s.ID, s.Transport,
							s.TxMsgs, s.TxBytes, s.RxMsgs, s.RxBytes, s.Errors, s.RPCTimeouts,
							s.DoorbellsRung, s.DoorbellsSuppressed)
					}
				})
			})
		},
	}
}
