package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/popcorn-kernel/popcorn/ctl/internal/pcnl"
)

func newLoadCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "load",
		Short: "The load every kernel last reported for Angel",
		Long: `Shows the latest load report of every kernel that sent one since it came
up: the service's accept-queue depth and established connections, and CPU
busy fraction. popcornd reports its kernel's load every period.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.withClient(func(cl *pcnl.Client) error {
				loads, err := cl.Loads()
				if err != nil {
					return err
				}
				return o.print(cmd.OutOrStdout(), loads, func(tw *tabwriter.Writer) {
					fmt.Fprintln(tw, "NODE\tACCEPT_QUEUE\tESTABLISHED\tCPU_BUSY\tAGE")
					for _, l := range loads {
						fmt.Fprintf(tw, "%d\t%d\t%d\t%.1f%%\t%s\n", l.ID, l.AcceptQueue,
							l.Established, 100*l.CPUBusy, l.Age.Round(time.Millisecond))
					}
				})
			})
		},
	}
	cmd.AddCommand(newLoadSetCmd(o))
	return cmd
}

func newLoadSetCmd(o *options) *cobra.Command {
	var l pcnl.Load
	cmd := &cobra.Command{
		Use:   "set",
		Short: "Report this kernel's load by hand, as popcornd does every period",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.withClient(func(cl *pcnl.Client) error { return cl.ReportLoad(l) })
		},
	}
	f := cmd.Flags()
	f.Uint32Var(&l.AcceptQueue, "accept-queue", 0, "connections waiting in the service's accept queues")
	f.Uint32Var(&l.Established, "established", 0, "the service's established connections")
	f.Float64Var(&l.CPUBusy, "cpu-busy", 0, "fraction of CPU time busy, 0..1")
	return cmd
}
