package vm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// runHostScript runs the suite's host-side client, bash SCRIPT in the
// run's network namespace with the tests directory as its working
// directory, while the guests run. Its output goes to host.log; a
// cancelled run kills its whole process group. It may kill a guest and
// have it booted again (reboot.go).
func (r *run) runHostScript(ctx context.Context) error {
	o := r.opts
	logPath := filepath.Join(r.dir, "host.log")
	log, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer log.Close()
	script, err := filepath.Abs(filepath.Join(o.TestsDir, o.HostScript))
	if err != nil {
		return err
	}
	ctl, err := filepath.Abs(r.ctlDir())
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", r.net.ns, "bash", script)
	cmd.Dir = o.TestsDir
	cmd.Env = append(os.Environ(), fmt.Sprintf("POPCORN_GUESTS=%d", o.Guests),
		"POPCORN_RIG_CTL="+ctl)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = ownGroup()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("host script %s: %w (%s)", o.HostScript, err, logPath)
	}
	return nil
}
