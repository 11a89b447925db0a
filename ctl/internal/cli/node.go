package cli

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/popcorn-kernel/popcorn/api"
	"github.com/popcorn-kernel/popcorn/ctl/internal/pcnl"
)

func newNodeCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{Use: "node", Short: "Add, delete and list nodes"}
	cmd.AddCommand(newNodeAddCmd(o), newNodeDelCmd(o), newNodeListCmd(o))
	return cmd
}

func parseNodeID(s string) (int, error) {
	id, err := strconv.Atoi(s)
	if err != nil || id < 0 || id >= api.MaxNodes {
		return 0, fmt.Errorf("node id %q: want 0..%d", s, api.MaxNodes-1)
	}
	return id, nil
}

func newNodeAddCmd(o *options) *cobra.Command {
	var self bool
	var transport, endpoint string
	cmd := &cobra.Command{
		Use:   "add ID (--self | --transport NAME --endpoint ADDR)",
		Short: "Name this kernel's node id, or add a peer node",
		Example: `  popcornctl node add 0 --self
  popcornctl node add 1 --transport shm --endpoint 1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseNodeID(args[0])
			if err != nil {
				return err
			}
			if self == (transport != "") {
				return fmt.Errorf("give either --self or --transport")
			}
			if !self && endpoint == "" {
				return fmt.Errorf("--transport needs --endpoint")
			}
			return o.withClient(func(cl *pcnl.Client) error {
				if self {
					return cl.AddSelf(id)
				}
				return cl.AddNode(id, transport, endpoint)
			})
		},
	}
	cmd.Flags().BoolVar(&self, "self", false, "this kernel's own node")
	cmd.Flags().StringVar(&transport, "transport", "", "transport that reaches the node (shm)")
	cmd.Flags().StringVar(&endpoint, "endpoint", "", "the node's address on the transport (shm: peer id on the window)")
	return cmd
}

func newNodeDelCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "del ID",
		Short: "Delete a peer node",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseNodeID(args[0])
			if err != nil {
				return err
			}
			return o.withClient(func(cl *pcnl.Client) error { return cl.DelNode(id) })
		},
	}
}

func newNodeListCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List nodes and their state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.withClient(func(cl *pcnl.Client) error {
				nodes, err := cl.Nodes()
				if err != nil {
					return err
				}
				return o.print(cmd.OutOrStdout(), nodes, func(tw *tabwriter.Writer) {
					fmt.Fprintln(tw, "NODE\tSTATE\tTRANSPORT\tENDPOINT")
					for _, n := range nodes {
						transport, endpoint := n.Transport, n.Endpoint
						if n.Self {
							transport, endpoint = "self", "-"
						}
						fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", n.ID, state(n.Up), transport, endpoint)
					}
				})
			})
		},
	}
}

func state(up bool) string {
	if up {
		return "up"
	}
	return "down"
}
