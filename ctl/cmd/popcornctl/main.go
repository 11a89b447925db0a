// Command popcornctl configures and observes Popcorn's messaging layer.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/popcorn-kernel/popcorn/ctl/internal/cli"
	"github.com/popcorn-kernel/popcorn/ctl/internal/pcnl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cli.NewRootCmd(pcnl.Dial).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "popcornctl:", err)
		stop()
		os.Exit(1)
	}
}
