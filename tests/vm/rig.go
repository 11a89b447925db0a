// Package vm is the multi-kernel rig: it boots Debian kernels as QEMU
// guests that share one ivshmem window, runs a test script in each, and
// judges the run by each guest's exit status, KTAP results and console.
package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options describe one run of the rig.
type Options struct {
	Kernel   Kernel
	BuildDir string // build/: modules, binaries, the ivshmem server
	TestsDir string // tests/guest
	RunDir   string // where consoles and results are written

	Guests  int
	CPUs    int
	MemMB   int
	Ivshmem string // "doorbell", "plain" or "none"
	ShmSize int64
	Vectors int  // doorbells per guest; 0 means two per guest
	Net     bool // join the guests with virtio-net, a bridge in the run's netns
	NIC     bool // give guest 0 a NIC into the run's network namespace
	Script  string
	// HostScript, if set, runs on the host in the run's network namespace
	// (a client of the guests) while they run; it must exit 0.
	HostScript string
	Timeout    time.Duration

	Pin         bool // pin guest i's vCPU threads to host CPU i
	Interactive bool // guest 0's console on this terminal
	Log         io.Writer
}

func (o *Options) vectors() int {
	if o.Ivshmem != "doorbell" {
		return 0
	}
	if o.Vectors > 0 {
		return o.Vectors
	}
	return 2 * o.Guests
}

func (o *Options) validate() error {
	if o.Guests < 1 || o.Guests > 8 {
		return fmt.Errorf("guests %d out of range 1..8", o.Guests)
	}
	switch o.Ivshmem {
	case "doorbell", "plain", "none":
	default:
		return fmt.Errorf("ivshmem %q: want doorbell, plain or none", o.Ivshmem)
	}
	if o.Script == "" {
		return errors.New("no script to run")
	}
	if o.Script != "shell" {
		if _, err := os.Stat(filepath.Join(o.TestsDir, o.Script)); err != nil {
			return fmt.Errorf("script: %w", err)
		}
	}
	if o.HostScript != "" {
		if !o.NIC && !o.Net {
			return errors.New("a host script needs the network namespace (--nic or --net)")
		}
		if _, err := os.Stat(filepath.Join(o.TestsDir, o.HostScript)); err != nil {
			return fmt.Errorf("host script: %w", err)
		}
	}
	return nil
}

// GuestResult is what one guest did.
type GuestResult struct {
	Console string
	Results string
	Splat   string // first console line showing a kernel splat
	Err     error  // exit status or KTAP verdict
}

// Result is a finished run.
type Result struct {
	Dir     string
	Guests  []GuestResult
	HostErr error // the host script's failure, if any
}

// Err summarises every failure of the run, splats included.
func (r *Result) Err() error {
	errs := []error{r.HostErr}
	for i, g := range r.Guests {
		if g.Splat != "" {
			errs = append(errs, fmt.Errorf("guest %d: kernel splat: %s (%s)", i, g.Splat, g.Console))
		}
		if g.Err != nil {
			errs = append(errs, fmt.Errorf("guest %d: %w (%s)", i, g.Err, g.Console))
		}
	}
	return errors.Join(errs...)
}

type run struct {
	opts    Options
	dir     string
	initrd  string
	shmPath string
	net     *hostNet
	server  *exec.Cmd
	reboots []int // how often guest i was killed and booted again (reboot.go)
}

// Run boots the guests, waits for them, and judges the run. Cancelling ctx
// (Ctrl-C) kills the guests at once; what the run set up on the host (the
// ivshmem server, the /dev/shm file, the network namespace) is removed
// however it ends.
func Run(ctx context.Context, o Options) (res *Result, err error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	r := &run{opts: o, dir: o.RunDir, reboots: make([]int, o.Guests)}
	if err := os.MkdirAll(r.ctlDir(), 0o755); err != nil {
		return nil, err
	}
	r.initrd = filepath.Join(r.dir, "initramfs.cpio.gz")
	ir := Initramfs{Kernel: o.Kernel, BuildDir: o.BuildDir, TestsDir: o.TestsDir}
	if err := ir.Write(r.initrd); err != nil {
		return nil, fmt.Errorf("initramfs: %w", err)
	}
	defer func() {
		if terr := r.teardown(); terr != nil {
			err = errors.Join(err, terr)
		}
	}()
	if err := r.setup(ctx); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	res = &Result{Dir: r.dir, Guests: make([]GuestResult, o.Guests)}
	var wg sync.WaitGroup
	for i := range o.Guests {
		cmd, err := r.startGuest(ctx, i)
		if err != nil {
			cancel()
			wg.Wait()
			return nil, err
		}
		r.awaitPeers(ctx, i+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			res.Guests[i] = r.superviseGuest(ctx, cmd, i)
			// A shell session ends the run when its guest stops.
			if o.Interactive && i == 0 {
				cancel()
			}
		}()
	}
	if o.HostScript != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res.HostErr = r.runHostScript(ctx)
		}()
	}
	wg.Wait()
	if err := r.stopServer(); err != nil {
		return res, err
	}
	return res, nil
}

func (r *run) setup(ctx context.Context) error {
	o := r.opts
	switch o.Ivshmem {
	case "doorbell":
		if err := r.startServer(ctx); err != nil {
			return err
		}
	case "plain":
		r.shmPath = fmt.Sprintf("/dev/shm/popcorn-vm-%d", os.Getpid())
		if err := os.WriteFile(r.shmPath, nil, 0o600); err != nil {
			return err
		}
		if err := os.Truncate(r.shmPath, o.ShmSize); err != nil {
			return err
		}
	}
	if o.NIC || o.Net {
		links := 0
		if o.Net {
			links = o.Guests
		}
		n, err := newHostNet(fmt.Sprintf("pcnvm-%d", os.Getpid()), o.NIC, links)
		if err != nil {
			return fmt.Errorf("network namespace: %w", err)
		}
		r.net = n
		if o.NIC {
			fmt.Fprintf(o.Log, "guest 0's NIC reaches netns %s (host 10.99.0.1, guest 10.99.0.2)\n", n.ns)
		}
		if o.Net {
			fmt.Fprintf(o.Log, "guests joined by bridge %s in netns %s (10.98.0.N+1)\n", bridgeName, n.ns)
		}
	}
	return nil
}

func (r *run) startServer(ctx context.Context) error {
	o := r.opts
	log, err := os.Create(filepath.Join(r.dir, "ivshmem-server.log"))
	if err != nil {
		return err
	}
	defer log.Close()
	r.server = exec.Command(filepath.Join(o.BuildDir, "bin", "popcorn-ivshmem-server"),
		"-S", r.socket(), "-l", fmt.Sprint(o.ShmSize), "-n", fmt.Sprint(o.vectors()))
	r.server.Stdout, r.server.Stderr = log, log
	r.server.SysProcAttr = ownGroup()
	if err := r.server.Start(); err != nil {
		return fmt.Errorf("ivshmem server: %w", err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if _, err := os.Stat(r.socket()); err == nil {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("ivshmem server did not create %s", r.socket())
}

// awaitPeers waits until n guests joined the window, so that guest i is
// peer i on it (the server seats the lowest free id): tests can name
// the NIC owner, guest 0, before any kernel runs. A guest that never
// joins is its own result's business; the wait just ends.
func (r *run) awaitPeers(ctx context.Context, n int) {
	if r.server == nil {
		return
	}
	log := filepath.Join(r.dir, "ivshmem-server.log")
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; {
		b, _ := os.ReadFile(log)
		if bytes.Count(b, []byte(`msg="peer joined"`)) >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stopServer stops the server as an operator would, with SIGTERM, and
// checks that it cleaned up after itself.
func (r *run) stopServer() error {
	if r.server == nil {
		return nil
	}
	srv := r.server
	r.server = nil
	srv.Process.Signal(syscall.SIGTERM)
	if err := srv.Wait(); err != nil {
		return fmt.Errorf("ivshmem server exited: %w", err)
	}
	if _, err := os.Stat(r.socket()); !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("ivshmem server left its socket behind")
	}
	return nil
}

func (r *run) teardown() error {
	var errs []error
	if r.server != nil {
		r.server.Process.Kill()
		r.server.Wait()
		os.Remove(r.socket())
	}
	if r.shmPath != "" {
		if err := os.Remove(r.shmPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if r.net != nil {
		errs = append(errs, r.net.Close())
	}
	return errors.Join(errs...)
}

// ownGroup puts a child in a process group of its own: Ctrl-C on the
// terminal signals the rig alone, which kills the guests and cleans up,
// instead of racing its children to their deaths.
func ownGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

func (r *run) startGuest(ctx context.Context, i int) (*exec.Cmd, error) {
	args := r.guestArgs(i)
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	cmd.WaitDelay = 5 * time.Second
	if err := os.WriteFile(filepath.Join(r.dir, fmt.Sprintf("qemu-%d.cmdline", i)),
		[]byte("qemu-system-x86_64 "+strings.Join(args, " ")+"\n"), 0o644); err != nil {
		return nil, err
	}
	if i == 0 && r.opts.Interactive {
		// On the terminal, in its foreground process group.
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	} else {
		cmd.SysProcAttr = ownGroup()
		log, err := os.Create(filepath.Join(r.dir, fmt.Sprintf("qemu-%d.log", i)))
		if err != nil {
			return nil, err
		}
		defer log.Close()
		cmd.Stdout, cmd.Stderr = log, log
	}
	cmd.ExtraFiles = r.net.guestFiles(i)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("guest %d: %w", i, err)
	}
	if r.opts.Pin {
		go func() {
			if err := pinVCPUs(cmd.Process.Pid, i, r.opts.CPUs); err != nil {
				fmt.Fprintf(r.opts.Log, "guest %d: %v\n", i, err)
			}
		}()
	}
	return cmd, nil
}

// waitGuest collects a guest's verdict. isa-debug-exit makes QEMU exit
// with status*2+1, so 1 is a guest that passed; 0 is a guest that powered
// off or panicked without saying.
func (r *run) waitGuest(ctx context.Context, cmd *exec.Cmd, i int) GuestResult {
	err := cmd.Wait()
	g := GuestResult{Console: r.console(i), Results: r.results(i)}
	if r.opts.Interactive {
		if i == 0 {
			g.Console = "(terminal)"
		}
		return g
	}
	code := cmd.ProcessState.ExitCode()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		g.Err = fmt.Errorf("timed out after %v", r.opts.Timeout)
	case ctx.Err() != nil:
		g.Err = errors.New("stopped before it finished")
	case code == 0:
		g.Err = errors.New("guest stopped without a status (panic or power-off)")
	case code&1 == 0:
		g.Err = fmt.Errorf("qemu failed (%v): %s", err, r.qemuLog(i))
		return g
	case code != 1:
		g.Err = fmt.Errorf("test exited with status %d", code>>1)
	default:
		g.Err = ktapVerdict(g.Results)
	}
	splat, serr := findSplat(g.Console)
	if serr != nil {
		g.Err = errors.Join(g.Err, serr)
	}
	g.Splat = splat
	return g
}

func (r *run) qemuLog(i int) string {
	b, _ := os.ReadFile(filepath.Join(r.dir, fmt.Sprintf("qemu-%d.log", i)))
	return strings.TrimSpace(string(b))
}
