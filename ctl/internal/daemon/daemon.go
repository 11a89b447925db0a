// Package daemon is popcornd: it keeps this kernel in line with the
// machine's description (on start, on SIGHUP, and whenever the kernel
// drifts, a module reload included), logs the core's events, pings the
// peers, and serves what it sees as Prometheus metrics.
package daemon

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/popcorn-kernel/popcorn/ctl/internal/config"
	"github.com/popcorn-kernel/popcorn/ctl/internal/pcnl"
	"github.com/popcorn-kernel/popcorn/ctl/internal/reconcile"
)

// Options shape a daemon.
type Options struct {
	File string
	Log  *slog.Logger
	Dial func() (*pcnl.Client, error)
	// Resync is how often the kernel is compared with the file.
	Resync time.Duration
	// PingEvery is how often every up peer is pinged for the RTT
	// histogram; 0 pings never.
	PingEvery time.Duration
	// Notify tells the service manager how the daemon is doing.
	Notify func(state string)
	// AngelPeriod is how often the load is reported and, on the
	// service's owner, the balancing policy runs; 0: never.
	AngelPeriod time.Duration
	// PinDir holds Angel's pinned maps and link (angel.PinDir).
	PinDir string
	// StatusFile is where the owner writes Angel's recent moves; "": none.
	StatusFile string
}

// Daemon holds the file in force and what the last reconcile found.
type Daemon struct {
	o Options
	m *metrics

	mu      sync.Mutex
	cfg     *config.Config
	lastErr error
	self    int
	// kick asks the loop for a reconcile now; reload for a new file.
	kick, reload chan struct{}
	// resubscribe tells the event monitor to subscribe again (a fresh module).
	resubscribe chan struct{}
	// bal is Angel's balancer while this kernel steers, for metrics.
	bal *balancer
}

func (d *Daemon) setBalancer(b *balancer) {
	d.mu.Lock()
	d.bal = b
	d.mu.Unlock()
}

// New checks the file; a bad one is an error and no daemon.
func New(o Options) (*Daemon, error) {
	cfg, err := config.Load(o.File)
	if err != nil {
		return nil, err
	}
	if o.Notify == nil {
		o.Notify = func(string) {}
	}
	d := &Daemon{o: o, cfg: cfg, self: -1, kick: make(chan struct{}, 1),
		reload: make(chan struct{}, 1), resubscribe: make(chan struct{}, 1)}
	d.m = newMetrics(d)
	return d, nil
}

// Reload asks for the file to be read again (SIGHUP).
func (d *Daemon) Reload() { poke(d.reload) }

func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Health is nil while the kernel is in line with the file.
func (d *Daemon) Health() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lastErr
}

// Run reconciles until ctx ends. A failed reconcile is retried, sooner
// at first and then every Resync; a bad new file leaves the old in force.
func (d *Daemon) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); d.monitor(ctx) }()
	go func() { defer wg.Done(); d.angelLoop(ctx) }()
	go func() { defer wg.Done(); d.pinger(ctx) }()
	go func() { defer wg.Done(); d.watchFamily(ctx) }()
	defer wg.Wait()

	retry := time.Second
	told := ""
	for {
		wait := d.o.Resync
		if err := d.reconcile(); err != nil {
			wait = min(retry, d.o.Resync)
			retry = min(2*retry, d.o.Resync)
		} else {
			retry = time.Second
		}
		// The service manager hears of a change, not every resync.
		if st := "READY=1\nSTATUS=" + d.statusLine(); st != told {
			d.o.Notify(st)
			told = st
		}
		select {
		case <-ctx.Done():
			d.o.Notify("STOPPING=1")
			return
		case <-d.reload:
			d.o.Notify("RELOADING=1")
			told = ""
			d.loadFile()
		case <-d.kick:
		case <-time.After(wait):
		}
	}
}

func (d *Daemon) loadFile() {
	cfg, err := config.Load(d.o.File)
	d.m.loads.Inc()
	if err != nil {
		d.m.loadErrors.Inc()
		attrs := []any{"file", d.o.File}
		if es, ok := config.AsErrors(err); ok {
			for i, e := range es {
				d.o.Log.Error("config rejected, the one in force stays", append(attrs, "mistake", i+1, "error", e.Error())...)
			}
			return
		}
		d.o.Log.Error("config rejected, the one in force stays", append(attrs, "error", err)...)
		return
	}
	d.mu.Lock()
	d.cfg = cfg
	d.mu.Unlock()
	d.o.Log.Info("config loaded", "file", d.o.File, "nodes", len(cfg.Nodes))
}

func (d *Daemon) statusLine() string {
	if err := d.Health(); err != nil {
		return "not in line with the file: " + err.Error()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return "node " + strconv.Itoa(d.self) + " in line with " + d.o.File
}

// reconcile runs one pass and records its outcome.
func (d *Daemon) reconcile() error {
	d.mu.Lock()
	cfg := d.cfg
	d.mu.Unlock()
	res, err := d.reconcileOnce(cfg)
	d.m.runs.Inc()
	d.m.steps.Add(float64(res.Applied))
	for _, s := range res.Steps[:res.Applied] {
		d.o.Log.Info("applied", "step", s.String(), "op", string(s.Op))
		if s.Op == reconcile.OpSetSelf {
			// A fresh popcorn_msg (the family watch may have missed
			// it): its events need a new subscription.
			poke(d.resubscribe)
		}
	}
	d.mu.Lock()
	prev := d.lastErr
	d.lastErr, d.self = err, res.Self
	d.mu.Unlock()
	if err != nil {
		d.m.failures.Inc()
		if prev == nil || prev.Error() != err.Error() {
			d.o.Log.Error("reconcile failed, will retry", "error", err)
		}
		return err
	}
	d.m.lastSuccess.SetToCurrentTime()
	if prev != nil || res.Applied > 0 {
		d.o.Log.Info("in line with the file", "node", res.Self, "steps", res.Applied)
	}
	return nil
}

func (d *Daemon) reconcileOnce(cfg *config.Config) (reconcile.Result, error) {
	res := reconcile.Result{Self: -1, Steps: []reconcile.Step{}}
	cl, err := d.o.Dial()
	if err != nil {
		return res, err
	}
	defer cl.Close()
	k, err := reconcile.NewKernel(cl)
	if err != nil {
		return res, err
	}
	defer k.Close()
	return reconcile.Once(k, cfg, false)
}

// monitor logs the core's node events, subscribing again when the
// module comes back; a lost subscription also asks for a reconcile.
func (d *Daemon) monitor(ctx context.Context) {
	for ctx.Err() == nil {
		cl, err := d.o.Dial()
		if err != nil {
			sleep(ctx, time.Second)
			continue
		}
		mctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-d.resubscribe:
				cancel()
			case <-mctx.Done():
			}
		}()
		err = cl.Monitor(mctx, func(n pcnl.Node) {
			state := "down"
			if n.Up {
				state = "up"
			}
			d.o.Log.Info("node "+state, "event", "node", "node", n.ID, "state", state,
				"transport", n.Transport, "endpoint", n.Endpoint)
			d.m.events.WithLabelValues(state).Inc()
			poke(d.kick)
		})
		cancel()
		cl.Close()
		if err != nil && !errors.Is(err, context.Canceled) {
			d.o.Log.Warn("event subscription lost", "error", err)
			sleep(ctx, time.Second)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
