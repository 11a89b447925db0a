package vm

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// pinVCPUs pins the vCPU threads of QEMU process pid (named "CPU n/TCG"
// by -name ...,debug-threads=on) to host CPU cpu. Only the vCPUs: QEMU's
// I/O thread delivers doorbells and must not wait behind a spinning vCPU.
func pinVCPUs(pid, cpu, want int) error {
	var set unix.CPUSet
	set.Set(cpu % runtime.NumCPU())
	pinned := map[int]bool{}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/comm", pid))
		for _, comm := range tasks {
			b, err := os.ReadFile(comm)
			if err != nil || !strings.HasPrefix(string(b), "CPU ") {
				continue
			}
			tid, _ := strconv.Atoi(filepath.Base(filepath.Dir(comm)))
			if pinned[tid] {
				continue
			}
			if err := unix.SchedSetaffinity(tid, &set); err != nil {
				return fmt.Errorf("pin thread %d: %w", tid, err)
			}
			pinned[tid] = true
		}
		if len(pinned) >= want {
			return nil
		}
	}
	return fmt.Errorf("found %d of %d vCPU threads of pid %d", len(pinned), want, pid)
}
