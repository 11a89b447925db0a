package reuseport

import (
	"fmt"
	"math"
	"time"

	"github.com/popcorn-kernel/popcorn/ctl/internal/angel"
)

// loadWindow is the time constant of the loads the policy sees: the
// period at which the kernels of a Popcorn machine report theirs.
const loadWindow = 100 * time.Millisecond

// run is the policy loop of an Angel Group.
func (g *Group) run() {
	defer close(g.stopped)
	t := time.NewTicker(g.period)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
			g.step()
		}
	}
}

// step is one period of the policy: measure the workers, let angel.Step
// move buckets, write the moved buckets to the program's table. A worker
// whose Listener is closed is down, and loses all its buckets in this
// step, whatever the policy's move limit.
func (g *Group) step() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	now := time.Now()
	nodes := make([]angel.Node, len(g.workers))
	for i, w := range g.workers {
		nodes[i] = angel.Node{ID: uint32(i), Weight: 1, Mode: angel.Auto}
		if w.closed.Load() {
			continue
		}
		l, err := g.measure(w, now)
		if err != nil {
			g.err = fmt.Errorf("reuseport: measuring worker %d: %w", i, err)
			continue
		}
		nodes[i].Up, nodes[i].Load = true, l
		g.loads[i] = l
	}
	next, state, moves := angel.Step(g.table, nodes, g.state, g.policy)
	if len(moves) > 0 {
		if err := g.dp.apply(moves); err != nil {
			// The program keeps the table it has; so does the policy,
			// and the next period tries again.
			g.err = fmt.Errorf("reuseport: writing %d moved buckets: %w", len(moves), err)
			return
		}
	}
	g.table, g.state = next, state
	g.moves += uint64(len(moves))
	if len(moves) > 0 {
		g.setLimits()
	}
}

// setLimits gives each worker a queue limit in proportion to its buckets,
// at least 1 for a worker with any: a worker the policy took buckets from
// takes as few connections of others.
func (g *Group) setLimits() {
	if g.queueLimit == 0 {
		return
	}
	n := make([]int, len(g.workers))
	for _, w := range g.table {
		n[w]++
	}
	fair := len(g.table) / len(g.workers)
	for i, b := range n {
		g.dp.limit(i).Store(int32((g.queueLimit*b + fair - 1) / fair))
	}
}

// measure is worker w's load over the period that ends now.
func (g *Group) measure(w *worker, now time.Time) (Load, error) {
	q, err := w.acceptQueue()
	if err != nil {
		return Load{}, err
	}
	// The published queue drifts: the program counts connections whose
	// handshake never completes. The kernel's count corrects it; an add
	// rather than a store keeps the picks and accepts made meanwhile.
	w.queue.Add(int32(q) - w.queue.Load())

	c, err := g.dp.counters(w.i)
	if err != nil {
		return Load{}, err
	}
	skips := c.Skips - w.lastSkip
	w.lastSkip = c.Skips

	busy := w.busyFor(now)
	dt := now.Sub(w.lastAt)
	if dt <= 0 {
		return Load{AcceptQueue: uint32(math.Round(w.avgQueue)), CPUBusy: w.avgBusy}, nil
	}
	frac := float64(busy-w.lastBusy) / float64(dt)
	w.lastAt, w.lastBusy = now, busy

	// The program absorbs a worker's bursts by itself; the policy sees
	// loads averaged over the last loadWindow, so that only a worker that
	// stays behind loses buckets.
	a := min(float64(dt)/float64(loadWindow), 1)
	w.avgQueue += a * (float64(q) + float64(skips) - w.avgQueue)
	w.avgBusy += a * (max(min(frac, 1), 0) - w.avgBusy)
	return Load{
		AcceptQueue: uint32(min(math.Round(w.avgQueue), math.MaxUint32)),
		CPUBusy:     w.avgBusy,
	}, nil
}
