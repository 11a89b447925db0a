// Package reuseport is Angel's single-kernel mode: the Angel policy
// balancing new TCP connections over the workers of one server on one
// ordinary kernel, the modern form of Affinity-Accept.
//
// Each worker has its own listening socket in one SO_REUSEPORT group, and
// an sk_reuseport BPF program (ebpf/reuseport.bpf.c) picks the socket of
// each new connection: the kernel's flow hash of the connection selects
// one of Buckets buckets, and a table names each bucket's worker. Every
// Period the policy loop measures each worker's load and lets the shared
// policy (angel.Step) move buckets off a worker that stays behind.
// Between periods the program reacts by itself, as Alibaba's Hermes does:
// a worker whose accept queue reaches its limit passes its new
// connections to the next worker by hash that is under its own. A worker's
// limit is QueueLimit in proportion to its share of the buckets, so that
// a worker the policy has taken buckets from takes few of the others'
// connections either.
//
// A worker is a loop that accepts a connection and serves it, as a
// per-core event loop or a thread of a pre-forked server does; that is
// where one worker can fall behind the others. Its load is measured
// without its help, and averaged over the last 100 ms (the period at which
// the kernels of a Popcorn machine report theirs): the program absorbs
// bursts, the policy acts on what lasts.
//
//   - AcceptQueue: the depth of its socket's accept queue, the kernel's
//     count (TCP_INFO's tcpi_unacked on a listener), plus the connections
//     its buckets brought that the program passed to others during the
//     period because its queue was at its limit: the queue it would have
//     had.
//   - CPUBusy: the fraction of the period the worker spent outside Accept,
//     between returning a connection and asking for the next one.
//   - Established is not measured (0): Pressure does not use it.
//
// The queue the program compares with the limit is kept live without a
// system call: the program adds one when it gives the worker a connection,
// Accept subtracts one through the memory-mapped load array, and every
// period the count is pulled back to the kernel's.
//
// The program is also the group's migration program: when a worker
// closes its Listener, the connections waiting in its accept queue move
// to other workers rather than being reset.
package reuseport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/popcorn-kernel/popcorn/ctl/internal/angel"
)

// MaxWorkers is the most workers a Group has: the size of the program's
// socket array.
const MaxWorkers = 64

// Buckets is the length of the bucket table.
const Buckets = angel.Buckets

// Policy tunes the balancing policy (angel.Config).
type Policy = angel.Config

// Load is what the policy loop measured of a worker in the last period.
type Load = angel.Load

// Mode is how a Group spreads new connections over its workers.
type Mode int

const (
	// Angel: the policy drives the table from the workers' loads, and the
	// program passes a worker's connections on while its queue is at its
	// limit.
	Angel Mode = iota
	// Hash: an even table that never changes, the program never passes
	// a connection on: what plain SO_REUSEPORT hashing does.
	Hash
	// Shared: one listening socket that every worker accepts from, no
	// program: whichever worker asks first gets the next connection.
	Shared
)

func (m Mode) String() string {
	switch m {
	case Angel:
		return "angel"
	case Hash:
		return "hash"
	case Shared:
		return "shared"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Options of a Group. The zero value is Angel mode with the defaults.
type Options struct {
	Mode Mode
	// Period is how often the policy runs (Angel mode); 0 means 20 ms.
	Period time.Duration
	// QueueLimit is the accept-queue depth at which the program passes
	// new connections of a worker with its fair share of buckets on to
	// another worker (Angel mode); a worker with fewer buckets has a
	// lower limit, in proportion. 0 means 16, a negative value never.
	QueueLimit int
	// Policy tunes the policy (Angel mode). The zero Policy means
	// angel.DefaultConfig with Threshold 0.3 and its Cooldown, counted
	// in periods of 100 ms, turned into periods of Period.
	Policy Policy
}

const (
	defaultPeriod     = 20 * time.Millisecond
	defaultQueueLimit = 16
	// The period that angel.DefaultConfig's Cooldown is counted in.
	policyBasePeriod = 100 * time.Millisecond
	// A worker's busy fraction is wall time outside Accept, time it
	// waits for a CPU included: between balanced workers sharing a few
	// CPUs it differs by more than a kernel's does, up to 0.16 on two.
	defaultThreshold = 0.3
)

// Group is a set of workers listening on one address.
type Group struct {
	mode    Mode
	network string
	addr    net.Addr
	workers []*worker
	shared  *net.TCPListener // Shared mode
	dp      *dataplane       // Angel and Hash modes
	period  time.Duration
	policy  Policy
	// queueLimit is the fast path's limit for a worker with its fair
	// share of buckets; 0 when the program must not divert.
	queueLimit int
	// kick is held while a worker closing its Listener in Shared mode
	// makes the other workers' Accept give up for a moment.
	kick sync.RWMutex

	mu      sync.Mutex // the policy's state
	table   angel.Table
	state   angel.State
	moves   uint64
	loads   []Load
	err     error
	closed  bool // the policy stops touching the program
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once // Close
}

// Listen opens a Group of workers listening on network ("tcp", "tcp4" or
// "tcp6") address addr, as net.Listen would. ctx bounds the opening only.
// In Angel and Hash modes it needs CAP_BPF and CAP_NET_ADMIN (or root) to
// load the program.
func Listen(ctx context.Context, network, addr string, workers int, opts Options) (*Group, error) {
	if workers < 1 || workers > MaxWorkers {
		return nil, fmt.Errorf("reuseport: %d workers: want 1 to %d", workers, MaxWorkers)
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("reuseport: network %q: want tcp, tcp4 or tcp6", network)
	}
	if opts.Mode != Angel && opts.Mode != Hash && opts.Mode != Shared {
		return nil, fmt.Errorf("reuseport: unknown mode %d", int(opts.Mode))
	}
	g := &Group{mode: opts.Mode, network: network, period: opts.Period}
	if g.period < 0 {
		return nil, fmt.Errorf("reuseport: period %v: want > 0, or 0 for %v", opts.Period, defaultPeriod)
	}
	if g.period == 0 {
		g.period = defaultPeriod
	}
	limit := opts.QueueLimit
	switch {
	case opts.Mode != Angel || limit < 0:
		limit = 0
	case limit == 0:
		limit = defaultQueueLimit
	}
	g.policy = opts.Policy
	if g.policy == (Policy{}) {
		g.policy = defaultPolicy(g.period)
	}
	if err := g.policy.Validate(); err != nil {
		return nil, fmt.Errorf("reuseport: policy: %w", err)
	}

	if opts.Mode == Shared {
		if err := g.listenShared(ctx, addr, workers); err != nil {
			return nil, err
		}
		return g, nil
	}
	g.queueLimit = limit
	if err := g.listenGroup(ctx, addr, workers); err != nil {
		g.Close()
		return nil, err
	}
	if opts.Mode == Angel {
		g.stop, g.stopped = make(chan struct{}), make(chan struct{})
		go g.run()
	}
	return g, nil
}

func defaultPolicy(period time.Duration) Policy {
	p := angel.DefaultConfig()
	p.Cooldown = int((time.Duration(p.Cooldown)*policyBasePeriod + period - 1) / period)
	p.Threshold = defaultThreshold
	return p
}

func (g *Group) listenShared(ctx context.Context, addr string, workers int) error {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	ln, err := lc.Listen(ctx, g.network, addr)
	if err != nil {
		return fmt.Errorf("reuseport: %w", err)
	}
	g.shared = ln.(*net.TCPListener)
	g.addr = ln.Addr()
	for i := range workers {
		g.workers = append(g.workers, &worker{g: g, i: i})
	}
	return nil
}

// listenGroup opens the workers' sockets in one SO_REUSEPORT group and
// gives the group the program. The first socket picks the port if addr
// has none, and the others join it there.
func (g *Group) listenGroup(ctx context.Context, addr string, workers int) error {
	dp, err := openDataplane()
	if err != nil {
		return err
	}
	g.dp = dp
	nodes := make([]angel.Node, workers)
	for i := range nodes {
		nodes[i] = angel.Node{ID: uint32(i), Up: true, Weight: 1}
	}
	g.table = angel.NewTable(nodes)
	g.loads = make([]Load, workers)
	if err := dp.configure(workers, g.queueLimit > 0); err != nil {
		return fmt.Errorf("reuseport: configuring the program: %w", err)
	}
	if err := dp.setTable(g.table); err != nil {
		return fmt.Errorf("reuseport: writing the bucket table: %w", err)
	}

	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		cerr := c.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
		return errors.Join(cerr, err)
	}}
	// The sockarray takes TCP sockets only, not the MPTCP ones that Go
	// listens with by default.
	lc.SetMultipathTCP(false)
	for i := range workers {
		ln, err := lc.Listen(ctx, g.network, addr)
		if err != nil {
			return fmt.Errorf("reuseport: worker %d: %w", i, err)
		}
		tl := ln.(*net.TCPListener)
		w := &worker{g: g, i: i, ln: tl, queue: dp.queue(i), lastAt: time.Now()}
		g.workers = append(g.workers, w)
		if w.rc, err = tl.SyscallConn(); err != nil {
			return fmt.Errorf("reuseport: worker %d: %w", i, err)
		}
		if err := dp.addSocket(i, w.rc); err != nil {
			return fmt.Errorf("reuseport: worker %d: adding its socket to the program's array: %w", i, err)
		}
		if i == 0 {
			g.addr = ln.Addr()
			addr = g.addr.String()
		}
	}
	g.setLimits()
	if err := dp.attach(g.workers[0].rc); err != nil {
		return fmt.Errorf("reuseport: attaching the program to the group: %w", err)
	}
	return nil
}

// Addr is the address the workers listen on.
func (g *Group) Addr() net.Addr { return g.addr }

// Mode is the Group's mode.
func (g *Group) Mode() Mode { return g.mode }

// Workers is the number of workers.
func (g *Group) Workers() int { return len(g.workers) }

// Listener is worker i's listener, i from 0 to Workers()-1; it panics for
// another i. Closing it takes the worker out of the group; the group's
// address stays open while a worker does.
func (g *Group) Listener(i int) net.Listener { return g.workers[i] }

// Table returns a copy of the bucket table: bucket -> worker. It is nil
// in Shared mode.
func (g *Group) Table() []uint32 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.table == nil {
		return nil
	}
	return append([]uint32(nil), g.table...)
}

// Stats are a Group's counters since Listen.
type Stats struct {
	Workers []WorkerStats
	// Moves is the number of buckets the policy moved (Angel mode).
	Moves uint64
	// Unsteered counts connections the program found no worker for,
	// which the kernel's own hash placed.
	Unsteered uint64
	// Migrated counts connections that moved out of a closed worker's
	// accept queue into another's.
	Migrated uint64
	// Err is the last error the policy loop met, nil if none.
	Err error
}

// WorkerStats are a worker's counters. Picks, Fallbacks and Skips are
// the program's and stay 0 in Shared mode.
type WorkerStats struct {
	Up      bool   // its Listener is not closed
	Buckets int    // buckets of the table that name it
	Accepts uint64 // connections its Listener returned
	Picks   uint64 // connections the program gave it
	// Fallbacks is how many of its picks a bucket of another worker
	// brought, that worker being over the queue limit or gone.
	Fallbacks uint64
	// Skips is how many connections its own buckets brought that the
	// program gave another worker.
	Skips uint64
	Load  Load // as measured in the last period (Angel mode)
}

// Stats returns the Group's counters.
func (g *Group) Stats() (Stats, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := Stats{Moves: g.moves, Err: g.err, Workers: make([]WorkerStats, len(g.workers))}
	for i, w := range g.workers {
		ws := &st.Workers[i]
		ws.Up = !w.closed.Load()
		ws.Accepts = w.accepts.Load()
		if g.loads != nil {
			ws.Load = g.loads[i]
		}
		for _, id := range g.table {
			if id == uint32(i) {
				ws.Buckets++
			}
		}
		if g.dp == nil {
			continue
		}
		c, err := g.dp.counters(i)
		if err != nil {
			return st, fmt.Errorf("reuseport: reading worker %d's counters: %w", i, err)
		}
		ws.Picks, ws.Fallbacks, ws.Skips = c.Picks, c.Fallbacks, c.Skips
	}
	if g.dp == nil {
		return st, nil
	}
	var err error
	if st.Unsteered, err = g.dp.event(reuseportRpEventRP_EV_UNSTEERED); err != nil {
		return st, fmt.Errorf("reuseport: reading the program's events: %w", err)
	}
	if st.Migrated, err = g.dp.event(reuseportRpEventRP_EV_MIGRATED); err != nil {
		return st, fmt.Errorf("reuseport: reading the program's events: %w", err)
	}
	return st, nil
}

// Close closes every worker's Listener and stops the policy.
func (g *Group) Close() error {
	var errs []error
	g.once.Do(func() {
		if g.stop != nil {
			close(g.stop)
			<-g.stopped
		}
		for _, w := range g.workers {
			w.closed.Store(true)
			if w.ln != nil {
				errs = append(errs, ignoreClosed(w.ln.Close()))
			}
		}
		if g.shared != nil {
			errs = append(errs, ignoreClosed(g.shared.Close()))
		}
		if g.dp != nil {
			g.mu.Lock()
			g.closed = true
			g.mu.Unlock()
			errs = append(errs, g.dp.close())
		}
	})
	return errors.Join(errs...)
}

func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// closeShared takes worker w out of a Shared group: an Accept it is
// blocked in must return, and only a deadline wakes a blocked Accept, so
// every worker's Accept gives up until w's has left. The last worker to
// leave closes the socket.
func (g *Group) closeShared(w *worker) error {
	g.kick.Lock()
	defer g.kick.Unlock()
	open := 0
	for _, o := range g.workers {
		if !o.closed.Load() {
			open++
		}
	}
	if open == 0 {
		return ignoreClosed(g.shared.Close())
	}
	if err := g.shared.SetDeadline(time.Unix(1, 0)); err != nil {
		return ignoreClosed(err)
	}
	w.inAccept.Lock() // held while w is in Accept: this waits for it to leave
	w.inAccept.Unlock()
	return ignoreClosed(g.shared.SetDeadline(time.Time{}))
}
