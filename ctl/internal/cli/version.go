package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/popcorn-kernel/popcorn/api"
	"github.com/popcorn-kernel/popcorn/ctl/internal/version"
)

type versions struct {
	Tool   version.Info `json:"popcornctl"`
	Family int          `json:"netlink_family_version"`
	// Kernel is the family version popcorn_msg speaks; 0: not loaded.
	Kernel int `json:"kernel_family_version"`
}

func newVersionCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "This tool's build, and the netlink family version it and the kernel speak",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := versions{Tool: version.Get(), Family: api.FamilyVersion}
			if cl, err := o.dial(); err == nil {
				v.Kernel = cl.FamilyVersion()
				cl.Close()
			}
			return o.print(cmd.OutOrStdout(), v, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "popcornctl %s\n", v.Tool)
				fmt.Fprintf(tw, "netlink family %s version %d", api.FamilyName, v.Family)
				if v.Kernel == 0 {
					fmt.Fprintln(tw, " (popcorn_msg not loaded)")
				} else {
					fmt.Fprintf(tw, ", kernel speaks %d\n", v.Kernel)
				}
			})
		},
	}
}
