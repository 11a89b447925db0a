// Command popcornd keeps this kernel in line with the machine's
// description and serves what it sees as Prometheus metrics.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/popcorn-kernel/popcorn/ctl/internal/angel"
	"github.com/popcorn-kernel/popcorn/ctl/internal/config"
	"github.com/popcorn-kernel/popcorn/ctl/internal/daemon"
	"github.com/popcorn-kernel/popcorn/ctl/internal/pcnl"
	"github.com/popcorn-kernel/popcorn/ctl/internal/version"
)

func main() {
	file := flag.String("config", "/etc/popcorn/popcorn.yaml", "the machine's description")
	listen := flag.String("listen", ":9464", "address for /metrics and /healthz; empty: none")
	logFormat := flag.String("log-format", "text", "text or json")
	resync := flag.Duration("resync", 5*time.Second, "how often the kernel is compared with the file")
	pingEvery := flag.Duration("ping-every", 5*time.Second, "how often each peer is pinged for node_rtt_seconds; 0: never")
	angelPeriod := flag.Duration("angel-period", 100*time.Millisecond,
		"how often the load is reported and, on the service's owner, Angel's policy runs; 0: never")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println("popcornd", version.Get())
		return
	}
	log, err := logger(*logFormat)
	if err != nil {
		fmt.Fprintln(os.Stderr, "popcornd:", err)
		os.Exit(2)
	}
	if *resync < 100*time.Millisecond {
		fmt.Fprintln(os.Stderr, "popcornd: -resync below 100ms")
		os.Exit(2)
	}
	if *angelPeriod != 0 && *angelPeriod < 10*time.Millisecond {
		fmt.Fprintln(os.Stderr, "popcornd: -angel-period below 10ms")
		os.Exit(2)
	}
	o := daemon.Options{File: *file, Log: log, Dial: pcnl.Dial, Resync: *resync, PingEvery: *pingEvery,
		Notify: daemon.Notifier(), AngelPeriod: *angelPeriod, PinDir: angel.PinDir, StatusFile: angel.StatusFile}
	if err := run(o, *listen); err != nil {
		if es, ok := config.AsErrors(err); ok {
			fmt.Fprintln(os.Stderr, es)
		} else {
			log.Error("popcornd stopped", "error", err)
		}
		os.Exit(1)
	}
}

func logger(format string) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, nil)), nil
	}
	return nil, fmt.Errorf("-log-format %q: want text or json", format)
}

func run(o daemon.Options, listen string) error {
	log, file := o.Log, o.File
	d, err := daemon.New(o)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			log.Info("SIGHUP: reading the file again", "file", file)
			d.Reload()
		}
	}()

	var srv *http.Server
	if listen != "" {
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			return err
		}
		srv = d.Server(listen)
		go func() {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics server", "error", err)
			}
		}()
	}
	log.Info("popcornd started", "version", version.Get().String(), "file", file, "listen", listen)
	d.Run(ctx)
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}
	log.Info("popcornd stopped")
	return nil
}
