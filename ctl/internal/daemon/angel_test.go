package daemon

import (
	"testing"
	"time"

	"github.com/popcorn-kernel/popcorn/ctl/internal/angel"
	"github.com/popcorn-kernel/popcorn/ctl/internal/config"
	"github.com/popcorn-kernel/popcorn/ctl/internal/pcnl"
)

func TestLateReportIsSaturated(t *testing.T) {
	b := &balancer{policy: angel.DefaultConfig()}
	period := 100 * time.Millisecond
	fresh := pcnl.Load{AcceptQueue: 3, Established: 9, CPUBusy: 0.2, Age: period}
	if got := b.judge(fresh, period); got != (angel.Load{AcceptQueue: 3, Established: 9, CPUBusy: 0.2}) {
		t.Errorf("a fresh report judged %+v", got)
	}
	late := fresh
	late.Age = staleReports * period
	if got := b.judge(late, period); got.CPUBusy != 1 || got.AcceptQueue != 64 {
		t.Errorf("a late report judged %+v, want saturated with a full queue", got)
	}
}

func TestPolicyNodesFromConfig(t *testing.T) {
	cfg := &config.Config{Nodes: []config.Node{
		{ID: 0, Partition: &config.Partition{Weight: 2}},
		{ID: 3, Partition: &config.Partition{Weight: 1}},
	}}
	var over [angel.MaxNodes]angel.Override
	over[3] = angel.Override{Mode: angel.Drain, Weight: 5}
	loads := map[int]angel.Load{0: {CPUBusy: 0.5}}
	nodes := policyNodes(cfg, loads, over, func(id int) bool { return id == 0 })
	want := []angel.Node{
		{ID: 0, Up: true, Weight: 2, Load: angel.Load{CPUBusy: 0.5}},
		{ID: 3, Up: false, Weight: 5, Mode: angel.Drain},
	}
	if len(nodes) != 2 || nodes[0] != want[0] || nodes[1] != want[1] {
		t.Errorf("nodes %+v, want %+v", nodes, want)
	}
}
