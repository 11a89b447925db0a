// Command popcorn-vm runs the multi-kernel rig: Debian kernels booted as
// QEMU guests that share one ivshmem window.
//
//	popcorn-vm fetch                      download the kernels the modules were built for
//	popcorn-vm run --kernel 6.1 --guests 2 --script ring.sh
//	popcorn-vm test --kernel 6.1 --kernel 6.12   every suite in tests/guest/suites, as KTAP
//	popcorn-vm shell --kernel 6.12 --guests 2    a shell on guest 0
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/popcorn-kernel/popcorn/tests/vm"
)

type globals struct {
	build, cache, tests, runs string
	keep                      bool
}

func main() {
	g := &globals{}
	root := &cobra.Command{
		Use:          "popcorn-vm",
		Short:        "Boot several kernels joined by ivshmem and run tests in them",
		SilenceUsage: true,
	}
	home, _ := os.UserCacheDir()
	pf := root.PersistentFlags()
	pf.StringVar(&g.build, "build", "build", "build directory (modules/, bin/, guest/)")
	pf.StringVar(&g.cache, "cache", envOr("POPCORN_VM_CACHE", filepath.Join(home, "popcorn-vm")), "kernel cache directory")
	pf.StringVar(&g.tests, "tests", "tests/guest", "guest test scripts")
	pf.StringVar(&g.runs, "runs", "", "where runs leave their logs (default BUILD/vm-runs)")
	pf.BoolVar(&g.keep, "keep", false, "keep the logs of runs that passed")
	root.AddCommand(newFetchCmd(g), newRunCmd(g), newTestCmd(g), newShellCmd(g))
	// Ctrl-C stops the guests and removes what the rig set up on the host.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := root.ExecuteContext(ctx); err != nil {
		stop()
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func (g *globals) runDir(name string) string {
	base := g.runs
	if base == "" {
		base = filepath.Join(g.build, "vm-runs")
	}
	return filepath.Join(base, time.Now().Format("20060102-150405.000")+"-"+name)
}

func newFetchCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "fetch",
		Short: "Download and unpack the Debian kernels that build/modules was built for",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rels, err := vm.Releases(g.build)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(g.cache, 0o755); err != nil {
				return err
			}
			for _, rel := range rels {
				k, err := vm.Fetch(g.cache, rel)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "kernel %s: %s\n", rel, k.Image())
			}
			return nil
		},
	}
}

// rigFlags are the options shared by run and shell.
type rigFlags struct {
	kernel  string
	o       vm.Options
	timeout time.Duration
}

func (f *rigFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.kernel, "kernel", "6.1", "kernel series (6.1, 6.12) or exact release")
	fl.IntVar(&f.o.Guests, "guests", 2, "number of guests (1..8)")
	fl.IntVar(&f.o.CPUs, "cpus", 1, "vCPUs per guest")
	fl.IntVar(&f.o.MemMB, "mem", 384, "MiB of memory per guest")
	fl.StringVar(&f.o.Ivshmem, "ivshmem", "doorbell", "shared window: doorbell, plain or none")
	fl.Int64Var(&f.o.ShmSize, "shm-size", 4<<20, "bytes of shared memory (power of two)")
	fl.IntVar(&f.o.Vectors, "vectors", 0, "doorbell vectors per guest (default two per guest)")
	fl.BoolVar(&f.o.Net, "net", false, "join the guests with virtio-net (10.98.0.N+1)")
	fl.BoolVar(&f.o.NIC, "nic", false, "give guest 0 a NIC into a host network namespace")
	fl.StringVar(&f.o.HostScript, "host-script", "", "run this script of the tests directory on the host, in the network namespace, meanwhile")
	fl.BoolVar(&f.o.Pin, "pin", false, "pin guest N's vCPU threads to host CPU N (benchmarks)")
}

func (f *rigFlags) options(g *globals) (vm.Options, error) {
	k, err := vm.FindKernel(g.cache, g.build, f.kernel)
	if err != nil {
		return f.o, err
	}
	o := f.o
	o.Kernel, o.BuildDir, o.TestsDir = k, g.build, g.tests
	return o, nil
}

func newRunCmd(g *globals) *cobra.Command {
	f := &rigFlags{}
	cmd := &cobra.Command{
		Use:   "run --script NAME",
		Short: "Boot the guests and run one script from tests/guest in each",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options(g)
			if err != nil {
				return err
			}
			o.RunDir = g.runDir(filepath.Base(o.Script))
			o.Timeout = f.timeout
			o.Log = cmd.OutOrStdout()
			return runAndReport(cmd, g, o, false)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&f.o.Script, "script", "", "script under tests/guest to run in every guest")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 3*time.Minute, "fail the run after this long")
	return cmd
}

func newShellCmd(g *globals) *cobra.Command {
	f := &rigFlags{}
	cmd := &cobra.Command{
		Use:   "shell",
		Short: "Boot the guests and give this terminal guest 0's console (Ctrl-A X quits)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options(g)
			if err != nil {
				return err
			}
			o.Script, o.Interactive = "shell", true
			o.RunDir = g.runDir("shell")
			o.Timeout = 24 * time.Hour
			o.Log = cmd.OutOrStdout()
			fmt.Fprintf(cmd.OutOrStdout(), "other guests' consoles: %s/console-N.log\n", o.RunDir)
			_, err = vm.Run(cmd.Context(), o)
			return err
		},
	}
	f.register(cmd)
	return cmd
}

// runAndReport runs the rig, prints every guest's results, and keeps the
// logs of a failed run (or, with wantSplat, of a run that did not splat).
func runAndReport(cmd *cobra.Command, g *globals, o vm.Options, wantSplat bool) error {
	out := cmd.OutOrStdout()
	res, err := vm.Run(cmd.Context(), o)
	if err != nil {
		fmt.Fprintf(out, "# rig error: %v (logs in %s)\n", err, o.RunDir)
		return err
	}
	for i, gr := range res.Guests {
		fmt.Fprintf(out, "# guest %d:\n", i)
		if b, err := os.ReadFile(gr.Results); err == nil {
			printIndented(out, b)
		}
	}
	err = verdict(out, res, wantSplat)
	if err != nil {
		fmt.Fprintf(out, "# FAILED: %v\n# logs: %s\n", err, res.Dir)
		return err
	}
	if !g.keep {
		os.RemoveAll(res.Dir)
	}
	return nil
}

// verdict judges a run. With wantSplat, the guests must pass by their own
// account and still be failed by the console scan: that proves a splat
// alone fails a run.
func verdict(out io.Writer, res *vm.Result, wantSplat bool) error {
	if !wantSplat {
		return res.Err()
	}
	splat := ""
	for i, gr := range res.Guests {
		if gr.Err != nil {
			return fmt.Errorf("guest %d: %w", i, gr.Err)
		}
		if gr.Splat != "" {
			splat = gr.Splat
		}
	}
	if splat == "" {
		return fmt.Errorf("expected a kernel splat, the consoles show none")
	}
	fmt.Fprintf(out, "# splat seen, as this suite expects: %s\n", splat)
	return nil
}
