// Command popcorn-ivshmem-server serves shared memory and doorbells to QEMU
// ivshmem-doorbell devices, a replacement for QEMU's ivshmem-server, which
// Debian does not ship. Flags follow QEMU's server.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/popcorn-kernel/popcorn/ctl/internal/ivshmem"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "popcorn-ivshmem-server:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		socket  = flag.String("S", "/tmp/ivshmem_socket", "unix `socket` path to listen on")
		shm     = flag.String("M", "", "POSIX shared-memory object `name` (/dev/shm/NAME); default an anonymous memfd")
		size    = flag.String("l", "4M", "shared memory `size` (power of two; suffixes K, M, G)")
		vectors = flag.Int("n", 1, "doorbell `vectors` per peer")
		pidfile = flag.String("p", "", "write the server's pid to `file`")
		verbose = flag.Bool("v", false, "log debug messages")
	)
	flag.Parse()
	if flag.NArg() != 0 {
		return fmt.Errorf("unexpected argument %q", flag.Arg(0))
	}
	bytes, err := parseSize(*size)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	srv, err := ivshmem.NewServer(ivshmem.Config{
		SocketPath: *socket, ShmName: *shm, ShmSize: bytes, Vectors: *vectors, Log: log,
	})
	if err != nil {
		return err
	}
	if *pidfile != "" {
		if err := os.WriteFile(*pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			srv.Close()
			return err
		}
		defer os.Remove(*pidfile)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err = srv.Serve(ctx)
	if cerr := srv.Close(); err == nil {
		err = cerr
	}
	log.Info("stopped")
	return err
}

// parseSize reads sizes the way QEMU's server does: 4096, 64K, 4M, 1G.
func parseSize(arg string) (int64, error) {
	s, mult := arg, int64(1)
	switch strings.ToUpper(s[len(s)-min(len(s), 1):]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("bad size %q", arg)
	}
	return n * mult, nil
}
