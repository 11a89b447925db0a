package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/popcorn-kernel/popcorn/ctl/internal/angel"
	"github.com/popcorn-kernel/popcorn/ctl/internal/config"
	"github.com/popcorn-kernel/popcorn/ctl/internal/pcnl"
)

// A kernel whose last load report is older than this many periods is
// taken as saturated: one too busy to report is the one to spare.
const staleReports = 10

// recentMoves is how many moves the status file keeps.
const recentMoves = 50

// angelLoop runs Angel's two halves each period: on every kernel the
// load meter reports this kernel's load; on the service's owner the data
// plane steers the NIC's new connections and the policy keeps its table.
func (d *Daemon) angelLoop(ctx context.Context) {
	if d.o.AngelPeriod <= 0 {
		return
	}
	t := time.NewTicker(d.o.AngelPeriod)
	defer t.Stop()
	var a angelRun
	defer a.close()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d.mu.Lock()
		cfg, self := d.cfg, d.self
		d.mu.Unlock()
		if err := a.period(d, cfg, self); err != nil && err.Error() != a.lastErr {
			d.o.Log.Warn("angel", "error", err)
			a.lastErr = err.Error()
		} else if err == nil {
			a.lastErr = ""
		}
	}
}

// angelRun is the loop's state between periods.
type angelRun struct {
	cl      *pcnl.Client
	meter   *angel.Meter
	bal     *balancer
	lastErr string
}

func (a *angelRun) close() {
	a.bal.close()
	if a.cl != nil {
		a.cl.Close()
	}
}

func (a *angelRun) period(d *Daemon, cfg *config.Config, self int) error {
	svc := cfg.Service
	if svc == nil || self < 0 {
		a.bal = a.bal.stop(d)
		return nil
	}
	if a.cl == nil {
		cl, err := d.o.Dial()
		if err != nil {
			return err
		}
		a.cl = cl
	}
	if err := a.report(svc); err != nil {
		a.cl.Close()
		a.cl = nil
		return err
	}
	if self != svc.Owner || svc.NIC == "" {
		a.bal = a.bal.stop(d)
		return nil
	}
	if a.bal == nil {
		b, err := startBalancer(d, cfg, self)
		if err != nil {
			return err
		}
		a.bal = b
	}
	return a.bal.step(d, a.cl, cfg, self)
}

// report measures this kernel's load and hands it to the core.
func (a *angelRun) report(svc *config.Service) error {
	if a.meter == nil || a.meter.Service != svc.Address || a.meter.Port != svc.Port {
		a.meter = &angel.Meter{Service: svc.Address, Port: svc.Port}
	}
	l, err := a.meter.Read()
	if err != nil {
		return err
	}
	return a.cl.ReportLoad(pcnl.Load{AcceptQueue: l.AcceptQueue, Established: l.Established, CPUBusy: l.CPUBusy})
}

// balancer is the owner's data plane and policy.
type balancer struct {
	dp     *angel.Dataplane
	table  angel.Table
	state  angel.State
	policy angel.Config

	mu      sync.Mutex // status, which metrics read
	status  angel.Status
	written time.Time // the status file's last writing
	warned  bool      // a failure to write it was logged
}

func startBalancer(d *Daemon, cfg *config.Config, self int) (*balancer, error) {
	svc := cfg.Service
	nic, err := net.InterfaceByName(svc.NIC)
	if err != nil {
		return nil, fmt.Errorf("service nic %s: %w", svc.NIC, err)
	}
	if cfg.SnapBean == nil {
		return nil, errors.New("angel needs Snap Bean to reach the other kernels")
	}
	sb, err := net.InterfaceByName(cfg.SnapBean.Device)
	if err != nil {
		return nil, fmt.Errorf("snapbean %s: %w", cfg.SnapBean.Device, err)
	}
	dp, err := angel.Open(d.o.PinDir)
	if err != nil {
		return nil, err
	}
	b := &balancer{dp: dp, policy: angel.DefaultConfig(), status: angel.Status{Owner: self, Moves: map[string]uint64{}}}
	if err := b.adopt(cfg, angel.Steering{Service: svc.Address, Port: svc.Port, SnapBean: sb.Index, Self: uint32(self)}); err != nil {
		dp.Close()
		return nil, err
	}
	if err := dp.Attach(nic.Index); err != nil {
		dp.Close()
		return nil, err
	}
	d.o.Log.Info("angel steering", "nic", svc.NIC, "service", svc.Address, "port", svc.Port, "snapbean", cfg.SnapBean.Device)
	d.setBalancer(b)
	return b, nil
}

// adopt keeps the table a previous popcornd left in the pinned map, so a
// restart moves nothing; a data plane never configured starts spread.
func (b *balancer) adopt(cfg *config.Config, s angel.Steering) error {
	old, err := b.dp.Steering()
	if err != nil {
		return err
	}
	if old.Service.IsValid() {
		if b.table, err = b.dp.Table(); err != nil {
			return err
		}
	} else {
		b.table = angel.NewTable(policyNodes(cfg, nil, [angel.MaxNodes]angel.Override{}, func(int) bool { return true }))
		if err := b.dp.SetTable(b.table); err != nil {
			return err
		}
	}
	return b.dp.Configure(s)
}

// stop takes the program off the NIC: this kernel no longer steers.
func (b *balancer) stop(d *Daemon) *balancer {
	if b == nil {
		return nil
	}
	if err := b.dp.Detach(); err != nil {
		d.o.Log.Warn("angel: detaching", "error", err)
	} else {
		d.o.Log.Info("angel stopped steering")
	}
	d.setBalancer(nil)
	b.close()
	return nil
}

// close lets go of the data plane; what is pinned and attached stays,
// so that steering outlives a restart of popcornd.
func (b *balancer) close() {
	if b != nil {
		b.dp.Close()
	}
}

// step runs the policy once over the kernels' latest loads.
func (b *balancer) step(d *Daemon, cl *pcnl.Client, cfg *config.Config, self int) error {
	nodes, err := cl.Nodes()
	if err != nil {
		return err
	}
	loads, err := cl.Loads()
	if err != nil {
		return err
	}
	over, err := b.dp.Overrides()
	if err != nil {
		return err
	}
	up := map[int]bool{self: true}
	for _, n := range nodes {
		up[n.ID] = up[n.ID] || n.Up
	}
	reported := map[int]angel.Load{}
	for _, l := range loads {
		reported[l.ID] = b.judge(l, d.o.AngelPeriod)
	}
	pn := policyNodes(cfg, reported, over, func(id int) bool { return up[id] })
	// A kernel up but yet to report (its popcornd is starting) cannot be
	// judged: its buckets stay, and it gains none.
	for i := range pn {
		if _, ok := reported[int(pn[i].ID)]; !ok && pn[i].Up {
			pn[i].Mode = angel.Hold
		}
	}
	next, st, moves := angel.Step(b.table, pn, b.state, b.policy)
	if len(moves) > 0 {
		if err := b.dp.SetTable(next); err != nil {
			return err
		}
	}
	b.mu.Lock()
	b.table, b.state = next, st
	b.mu.Unlock()
	b.record(d, pn, moves)
	return nil
}

// judge is a report as the policy weighs it: a late one as saturated,
// with a full queue on top.
func (b *balancer) judge(l pcnl.Load, period time.Duration) angel.Load {
	out := angel.Load{AcceptQueue: l.AcceptQueue, Established: l.Established, CPUBusy: l.CPUBusy}
	if l.Age >= staleReports*period {
		out.CPUBusy = 1
		out.AcceptQueue = max(out.AcceptQueue, uint32(b.policy.QueueScale))
	}
	return out
}

// policyNodes are the configuration's kernels as the policy sees them.
func policyNodes(cfg *config.Config, loads map[int]angel.Load, over [angel.MaxNodes]angel.Override,
	up func(int) bool) []angel.Node {
	out := make([]angel.Node, 0, len(cfg.Nodes))
	for _, n := range cfg.Nodes {
		w := 1.0
		if n.Partition != nil {
			w = float64(n.Partition.Weight)
		}
		o := over[n.ID]
		if o.Weight > 0 {
			w = float64(o.Weight)
		}
		out = append(out, angel.Node{ID: uint32(n.ID), Up: up(n.ID), Weight: w, Mode: o.Mode, Load: loads[n.ID]})
	}
	return out
}

var modeNames = map[angel.Mode]string{angel.Auto: "auto", angel.Drain: "drain", angel.Hold: "hold"}

// record logs the moves and keeps them for the status file and metrics.
func (b *balancer) record(d *Daemon, nodes []angel.Node, moves []angel.Move) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	s := &b.status
	for _, m := range moves {
		d.o.Log.Info("bucket moved", "bucket", m.Bucket, "from", m.From, "to", m.To, "why", m.Why)
		s.Moves[m.Why]++
		s.Recent = append(s.Recent, angel.StatusMove{At: now, Bucket: m.Bucket, From: m.From, To: m.To, Why: m.Why})
	}
	if n := len(s.Recent); n > recentMoves {
		s.Recent = append([]angel.StatusMove(nil), s.Recent[n-recentMoves:]...)
	}
	s.Updated, s.Config = now, b.policy
	s.Nodes = map[int]angel.StatusNode{}
	for _, n := range nodes {
		s.Nodes[int(n.ID)] = angel.StatusNode{Up: n.Up, Weight: n.Weight, Mode: modeNames[n.Mode],
			Pressure: angel.Pressure(n.Load, b.policy)}
	}
	if len(moves) > 0 || now.Sub(b.written) > time.Second {
		b.written = now
		if err := writeJSON(d.o.StatusFile, s); err != nil && !b.warned {
			d.o.Log.Warn("angel: status file", "error", err)
			b.warned = true
		}
	}
}

// writeJSON replaces path with v's JSON at once (rename), so a reader
// never sees half a file.
func writeJSON(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
