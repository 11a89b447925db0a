package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/popcorn-kernel/popcorn/tests/vm"
)

func newTestCmd(g *globals) *cobra.Command {
	var kernels, only []string
	var manifestName string
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run the suites of tests/guest/suites (or --manifest) on each kernel, reporting KTAP",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			manifest := filepath.Join(g.tests, manifestName)
			suites, err := vm.ParseSuites(manifest)
			if err != nil {
				return err
			}
			if suites, err = selectSuites(suites, only); err != nil {
				return fmt.Errorf("%w (%s)", err, manifest)
			}
			var ks []vm.Kernel
			for _, kname := range kernels {
				k, err := vm.FindKernel(g.cache, g.build, kname)
				if err != nil {
					return err
				}
				ks = append(ks, k)
			}
			return runSuites(cmd.Context(), cmd.OutOrStdout(), ks, suites,
				func(ctx context.Context, k vm.Kernel, s vm.Suite, out io.Writer) error {
					return runSuite(ctx, g, k, s, out)
				})
		},
	}
	cmd.Flags().StringSliceVar(&kernels, "kernel", []string{"6.1"}, "kernel series to test (repeatable)")
	cmd.Flags().StringSliceVar(&only, "suite", nil, "run only these suites")
	cmd.Flags().StringVar(&manifestName, "manifest", "suites", "the suite list, a file in the tests directory")
	return cmd
}

// suiteRunner runs one suite on one kernel, writing its report to out.
type suiteRunner func(ctx context.Context, k vm.Kernel, s vm.Suite, out io.Writer) error

// runSuites runs every suite on every kernel and reports KTAP. Once ctx is
// cancelled (Ctrl-C) no further suite starts and the run fails.
func runSuites(ctx context.Context, out io.Writer, kernels []vm.Kernel, suites []vm.Suite, run suiteRunner) error {
	fmt.Fprintf(out, "KTAP version 1\n1..%d\n", len(suites)*len(kernels))
	n, failed := 0, 0
	for _, k := range kernels {
		for _, s := range suites {
			if err := ctx.Err(); err != nil {
				fmt.Fprintf(out, "# interrupted: %d of %d guest suites run, %d failed\n",
					n, len(suites)*len(kernels), failed)
				return fmt.Errorf("interrupted after %d of %d guest suites: %w",
					n, len(suites)*len(kernels), err)
			}
			n++
			name := k.Series() + "/" + s.Name
			if s.NoDebug && k.Debug() {
				fmt.Fprintf(out, "ok %d %s # SKIP not on the debug kernel\n", n, name)
				continue
			}
			start := time.Now()
			fmt.Fprintf(out, "# %s: %d guest(s) on %s, %s\n", name, s.Guests, k.Release, s.Script)
			var buf bytes.Buffer
			err := run(ctx, k, s, &buf)
			printIndented(out, buf.Bytes())
			status := "ok"
			if err != nil {
				status = "not ok"
				failed++
			}
			fmt.Fprintf(out, "%s %d %s # time=%.1fs\n", status, n, name, time.Since(start).Seconds())
		}
	}
	if err := ctx.Err(); err != nil {
		fmt.Fprintf(out, "# interrupted\n")
		return fmt.Errorf("interrupted: %w", err)
	}
	fmt.Fprintf(out, "# Totals: pass:%d fail:%d\n", n-failed, failed)
	if failed > 0 {
		return fmt.Errorf("%d of %d guest suites failed", failed, n)
	}
	return nil
}

// runSuite boots the guests of one suite and judges them.
func runSuite(ctx context.Context, g *globals, k vm.Kernel, s vm.Suite, out io.Writer) error {
	o := vm.Options{
		Kernel: k, BuildDir: g.build, TestsDir: g.tests,
		RunDir: g.runDir(k.Series() + "-" + s.Name),
		Guests: s.Guests, CPUs: s.CPUs, MemMB: 384, Ivshmem: s.Ivshmem,
		ShmSize: s.ShmSize, Vectors: s.Vectors, Net: s.Net, NIC: s.NIC,
		Script: s.Script, HostScript: s.Host, Timeout: s.Timeout, Log: io.Discard,
	}
	sub := &cobra.Command{}
	sub.SetOut(out)
	sub.SetContext(ctx)
	return runAndReport(sub, g, o, s.WantSplat)
}

// selectSuites picks the suites named in only (all of them if none), in
// the manifest's order. A name the manifest does not have is an error.
func selectSuites(all []vm.Suite, only []string) ([]vm.Suite, error) {
	if len(only) == 0 {
		return all, nil
	}
	want := map[string]bool{}
	for _, o := range only {
		want[o] = true
	}
	var sel []vm.Suite
	for _, s := range all {
		if want[s.Name] {
			sel = append(sel, s)
			delete(want, s.Name)
		}
	}
	var unknown []string
	for _, o := range only {
		if want[o] {
			unknown = append(unknown, o)
			delete(want, o)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown suite %s", strings.Join(quote(unknown), ", "))
	}
	return sel, nil
}

func quote(s []string) []string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return q
}

func printIndented(w io.Writer, b []byte) {
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) > 0 {
			fmt.Fprintf(w, "    %s", line)
		}
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		fmt.Fprintln(w)
	}
}
