package reconcile

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/popcorn-kernel/popcorn/ctl/internal/config"
)

// PCIDevices is where the shm transport's windows show their peer id.
var PCIDevices = "/sys/bus/pci/devices"

// SelfID is the node this kernel is under cfg: the file's id, or the node
// whose shm peer is this kernel's peer id on the window.
func SelfID(cfg *config.Config) (int, error) {
	if cfg.Self.ID != nil {
		return *cfg.Self.ID, nil
	}
	dev := cfg.Self.Window
	if dev == "" {
		found, _ := filepath.Glob(filepath.Join(PCIDevices, "*", "popcorn", "peer_id"))
		if len(found) != 1 {
			return 0, fmt.Errorf("self.from_window: %d shared-memory windows with popcorn_shm bound, want one (or name it in self.window)", len(found))
		}
		dev = filepath.Base(filepath.Dir(filepath.Dir(found[0])))
	}
	b, err := os.ReadFile(filepath.Join(PCIDevices, dev, "popcorn", "peer_id"))
	if err != nil {
		return 0, fmt.Errorf("self.from_window: window %s: %w (is popcorn_shm loaded?)", dev, err)
	}
	peer, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("self.from_window: window %s peer id %q", dev, b)
	}
	id, ok := cfg.SelfByPeer(peer)
	if !ok {
		return 0, fmt.Errorf("self.from_window: this kernel is peer %d on window %s, and no node has that shm peer", peer, dev)
	}
	return id, nil
}

// Result is one reconcile: this kernel's node id, the plan, and how many
// of its steps were applied.
type Result struct {
	Self    int    `json:"self"`
	Steps   []Step `json:"steps"`
	Applied int    `json:"applied"`
}

// StepError is a step the kernel refused.
type StepError struct {
	Step Step
	Err  error
}

func (e *StepError) Error() string { return fmt.Sprintf("%s: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

// Once brings the kernel in line with cfg: observe, plan, and unless
// dryRun apply the steps in order. A refused step ends it; the next run
// plans again from what the kernel then holds, so nothing is applied
// twice and nothing is left out.
func Once(k *Kernel, cfg *config.Config, dryRun bool) (Result, error) {
	var res Result
	self, err := SelfID(cfg)
	if err != nil {
		return res, err
	}
	res.Self = self
	want, err := Desired(cfg, self)
	if err != nil {
		return res, err
	}
	have, err := k.Observe(want)
	if err != nil {
		return res, err
	}
	res.Steps, err = Plan(want, have)
	if res.Steps == nil {
		res.Steps = []Step{}
	}
	if err != nil || dryRun {
		return res, err
	}
	for _, s := range res.Steps {
		if err := k.Apply(s); err != nil {
			return res, &StepError{s, err}
		}
		res.Applied++
	}
	return res, nil
}
