// Package cli is popcornctl: one file per subcommand, each exporting a
// constructor of its cobra command.
package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/popcorn-kernel/popcorn/ctl/internal/pcnl"
)

type options struct {
	output string
	dial   func() (*pcnl.Client, error)
}

// NewRootCmd builds popcornctl; dial opens the netlink connection.
func NewRootCmd(dial func() (*pcnl.Client, error)) *cobra.Command {
	o := &options{dial: dial}
	root := &cobra.Command{
		Use:           "popcornctl",
		Short:         "Configure and observe Popcorn's messaging between kernels",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if o.output != "table" && o.output != "json" {
				return fmt.Errorf("output %q: want table or json", o.output)
			}
			return nil
		},
	}
	root.PersistentFlags().StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	root.AddCommand(newNodeCmd(o), newPingCmd(o), newBenchCmd(o), newStatsCmd(o), newLoadCmd(o), newAngelCmd(o), newMonitorCmd(o),
		newConfigCmd(o), newStatusCmd(o), newVersionCmd(o), newManCmd())
	return root
}

// errQuiet fails a command that has already said why on stdout.
var errQuiet = errors.New("")

// IsQuiet says err needs no message.
func IsQuiet(err error) bool { return errors.Is(err, errQuiet) }

// withClient runs fn with a connection to the kernel.
func (o *options) withClient(fn func(*pcnl.Client) error) error {
	cl, err := o.dial()
	if err != nil {
		return err
	}
	defer cl.Close()
	return fn(cl)
}

// print writes v as JSON, or calls table to write it as a table.
func (o *options) print(w io.Writer, v any, table func(*tabwriter.Writer)) error {
	if o.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}
