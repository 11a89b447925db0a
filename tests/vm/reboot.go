package vm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// A host script kills a guest by creating "kill-N" in the run's control
// directory ($POPCORN_RIG_CTL): the rig kills guest N's QEMU at once, as
// a machine check would stop a kernel, and boots it again with the same
// options; the ivshmem server gives it back its peer id, the lowest free
// one. The new boot sees popcorn.boot=2 (POPCORN_BOOT), and its verdict
// is the guest's; the console of every boot is scanned for splats.

const killPoll = 50 * time.Millisecond

func (r *run) ctlDir() string { return filepath.Join(r.dir, "ctl") }

// boot is guest i's boot number, from 1.
func (r *run) boot(i int) int {
	if i < len(r.reboots) {
		return r.reboots[i] + 1
	}
	return 1
}

// killRequested reports, once, whether the host script asked for guest
// i to be killed.
func (r *run) killRequested(i int) bool {
	err := os.Remove(filepath.Join(r.ctlDir(), fmt.Sprintf("kill-%d", i)))
	return err == nil
}

// superviseGuest waits for guest i, killing and booting it again each
// time the host script asks.
func (r *run) superviseGuest(ctx context.Context, cmd *exec.Cmd, i int) GuestResult {
	var splat string
	for {
		exited := make(chan struct{})
		killed := r.killOnRequest(cmd, i, exited)
		g := r.waitGuest(ctx, cmd, i)
		close(exited)
		if !<-killed {
			if g.Splat == "" {
				g.Splat = splat
			}
			return g
		}
		if s, _ := findSplat(g.Console); s != "" && splat == "" {
			splat = fmt.Sprintf("boot %d: %s", r.boot(i), s)
		}
		if err := r.keepBoot(i); err != nil {
			return GuestResult{Console: g.Console, Err: err}
		}
		r.reboots[i]++
		next, err := r.startGuest(ctx, i)
		if err != nil {
			return GuestResult{Console: g.Console, Err: fmt.Errorf("boot %d: %w", r.boot(i), err)}
		}
		cmd = next
	}
}

// killOnRequest watches for a kill request for guest i until exited is
// closed; what it sends says whether it killed the guest.
func (r *run) killOnRequest(cmd *exec.Cmd, i int, exited <-chan struct{}) <-chan bool {
	killed := make(chan bool, 1)
	if r.opts.HostScript == "" {
		killed <- false
		return killed
	}
	go func() {
		tick := time.NewTicker(killPoll)
		defer tick.Stop()
		for {
			select {
			case <-exited:
				killed <- false
				return
			case <-tick.C:
				if r.killRequested(i) {
					syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
					killed <- true
					return
				}
			}
		}
	}()
	return killed
}

// keepBoot moves boot N's console and results aside (console-I.bootN.log).
func (r *run) keepBoot(i int) error {
	for _, p := range []string{r.console(i), r.results(i)} {
		ext := filepath.Ext(p)
		kept := fmt.Sprintf("%s.boot%d%s", p[:len(p)-len(ext)], r.boot(i), ext)
		if err := os.Rename(p, kept); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
