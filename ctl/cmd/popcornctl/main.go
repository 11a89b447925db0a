// Command popcornctl configures and observes Popcorn's messaging layer.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/popcorn-kernel/popcorn/ctl/internal/cli"
	"github.com/popcorn-kernel/popcorn/ctl/internal/pcnl"
)

func main() {
	// Ctrl-C or SIGTERM cancels the command's context: a running ping or
	// bench stops in the kernel and popcornctl says "interrupted".
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cli.NewRootCmd(pcnl.Dial).ExecuteContext(ctx); err != nil {
		if !cli.IsQuiet(err) {
			fmt.Fprintln(os.Stderr, "popcornctl:", err)
		}
		stop()
		if errors.Is(err, pcnl.ErrInterrupted) {
			os.Exit(130) // as a shell reports a command that SIGINT ended
		}
		os.Exit(1)
	}
}
