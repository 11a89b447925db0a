package cli

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/popcorn-kernel/popcorn/ctl/internal/pcnl"
)

func newMonitorCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "monitor",
		Short: "Print node up/down events as they happen",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			return o.withClient(func(cl *pcnl.Client) error {
				return cl.Monitor(cmd.Context(), func(n pcnl.Node) {
					now := time.Now().Format(time.RFC3339Nano)
					if o.output == "json" {
						b, _ := json.Marshal(struct {
							Time string `json:"time"`
							pcnl.Node
						}{now, n})
						fmt.Fprintln(out, string(b))
						return
					}
					fmt.Fprintf(out, "%s node %d %s\n", now, n.ID, state(n.Up))
				})
			})
		},
	}
}
