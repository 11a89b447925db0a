package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/popcorn-kernel/popcorn/ctl/internal/config"
	"github.com/popcorn-kernel/popcorn/ctl/internal/pcnl"
	"github.com/popcorn-kernel/popcorn/ctl/internal/reconcile"
)

func newConfigCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Check a machine description, or apply it to this kernel once"}
	cmd.AddCommand(newConfigCheckCmd(o), newConfigApplyCmd(o))
	return cmd
}

// checkSummary is what `config check` says of a good file.
type checkSummary struct {
	File   string         `json:"file"`
	Config *config.Config `json:"config"`
}

func newConfigCheckCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "check FILE",
		Short: "Report every mistake in FILE as FILE:LINE:COL: what is wrong",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(args[0])
			if es, ok := config.AsErrors(err); ok && o.output == "json" {
				if perr := o.print(cmd.OutOrStdout(), map[string]config.Errors{"errors": es}, nil); perr != nil {
					return perr
				}
				return errQuiet
			}
			if err != nil {
				return err
			}
			return o.print(cmd.OutOrStdout(), checkSummary{args[0], cfg}, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "%s: ok, %d nodes\n", args[0], len(cfg.Nodes))
			})
		},
	}
}

func newConfigApplyCmd(o *options) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "apply FILE",
		Short: "Bring this kernel in line with FILE once, printing the plan",
		Long: `Check FILE, compare it with what this kernel holds (nodes, Snap Bean's
device, the service address, routes and sysctls) and make the changes in
order. A file with any mistake changes nothing. popcornd does the same on
start, on SIGHUP and whenever the kernel drifts.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(args[0])
			if err != nil {
				return err
			}
			return o.withClient(func(cl *pcnl.Client) error {
				k, err := reconcile.NewKernel(cl)
				if err != nil {
					return err
				}
				defer k.Close()
				res, err := reconcile.Once(k, cfg, dryRun)
				if perr := o.printPlan(cmd, res, dryRun); perr != nil {
					return perr
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan, change nothing")
	return cmd
}

func (o *options) printPlan(cmd *cobra.Command, res reconcile.Result, dryRun bool) error {
	return o.print(cmd.OutOrStdout(), res, func(tw *tabwriter.Writer) {
		if len(res.Steps) == 0 {
			fmt.Fprintf(tw, "node %d: in step with the file, nothing to do\n", res.Self)
			return
		}
		fmt.Fprintln(tw, "STEP\tCHANGE\tDONE")
		for i, s := range res.Steps {
			done := "yes"
			switch {
			case dryRun:
				done = "dry run"
			case i >= res.Applied:
				done = "no"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\n", i+1, s, done)
		}
	})
}
