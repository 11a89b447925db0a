package daemon

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/popcorn-kernel/popcorn/ctl/internal/pcnl"
	"github.com/popcorn-kernel/popcorn/ctl/internal/version"
)

const ns = "popcorn"

// metrics: the daemon's own counters, and a collector that reads the
// kernel's at every scrape, so /metrics and popcornctl agree.
type metrics struct {
	reg                   *prometheus.Registry
	runs, failures, steps prometheus.Counter
	loads, loadErrors     prometheus.Counter
	lastSuccess           prometheus.Gauge
	events                *prometheus.CounterVec
	rtt                   *prometheus.HistogramVec
	pingFailures          *prometheus.CounterVec
}

func newMetrics(d *Daemon) *metrics {
	f := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help})
	}
	m := &metrics{
		reg:        prometheus.NewRegistry(),
		runs:       f("reconcile_runs_total", "Reconciles of the kernel with the file."),
		failures:   f("reconcile_failures_total", "Reconciles that ended on an error (retried)."),
		steps:      f("reconcile_steps_total", "Changes applied to the kernel."),
		loads:      f("config_loads_total", "Times the file was read again (SIGHUP)."),
		loadErrors: f("config_load_failures_total", "Reads of the file that found mistakes; the file in force stayed."),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "reconcile_last_success_timestamp_seconds",
			Help: "When the kernel was last found in line with the file."}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "node_events_total",
			Help: "Node up and down events from the messaging core."}, []string{"state"}),
		rtt: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "node_rtt_seconds",
			Help:    "Round trip of a 64-byte echo to each peer, measured every ping period.",
			Buckets: prometheus.ExponentialBuckets(5e-6, 2.5, 12)}, []string{"node"}),
		pingFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "node_ping_failures_total",
			Help: "Periodic echoes to a peer that failed."}, []string{"node"}),
	}
	info := version.Get()
	build := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "build_info",
		Help:        "popcornd's build.",
		ConstLabels: prometheus.Labels{"version": info.Version, "describe": info.Describe, "goversion": info.Go}})
	build.Set(1)
	m.reg.MustRegister(m.runs, m.failures, m.steps, m.loads, m.loadErrors, m.lastSuccess,
		m.events, m.rtt, m.pingFailures, build, &kernelCollector{d}, &angelCollector{d},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is what /metrics serves.
func (d *Daemon) Registry() *prometheus.Registry { return d.m.reg }

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(ns, "", name), help, labels, nil)
}

var (
	descLoaded = desc("kernel_loaded", "1 when popcorn_msg answers on netlink.")
	descSelf   = desc("self_node", "This kernel's node id (-1: none yet).")
	descUp     = desc("node_up", "1 while the node is up.", "node", "transport")
	nodeDescs  = []struct {
		d   *prometheus.Desc
		get func(*pcnl.Stats) uint64
	}{
		{desc("node_tx_messages_total", "Messages sent to the node.", "node", "transport"), func(s *pcnl.Stats) uint64 { return s.TxMsgs }},
		{desc("node_tx_bytes_total", "Payload bytes sent to the node.", "node", "transport"), func(s *pcnl.Stats) uint64 { return s.TxBytes }},
		{desc("node_rx_messages_total", "Messages received from the node.", "node", "transport"), func(s *pcnl.Stats) uint64 { return s.RxMsgs }},
		{desc("node_rx_bytes_total", "Payload bytes received from the node.", "node", "transport"), func(s *pcnl.Stats) uint64 { return s.RxBytes }},
		{desc("node_errors_total", "Transport errors on the node's link.", "node", "transport"), func(s *pcnl.Stats) uint64 { return s.Errors }},
		{desc("node_rpc_timeouts_total", "RPCs to the node that timed out.", "node", "transport"), func(s *pcnl.Stats) uint64 { return s.RPCTimeouts }},
		{desc("node_doorbells_total", "Doorbells rung to the node.", "node", "transport"), func(s *pcnl.Stats) uint64 { return s.DoorbellsRung }},
		{desc("node_doorbells_suppressed_total", "Doorbells not rung because the node was polling.", "node", "transport"), func(s *pcnl.Stats) uint64 { return s.DoorbellsSuppressed }},
	}
)

// kernelCollector reads the node table, the core's counters and Snap
// Bean's at scrape time.
type kernelCollector struct{ d *Daemon }

func (c *kernelCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLoaded, descSelf, descUp} {
		ch <- d
	}
	for _, n := range nodeDescs {
		ch <- n.d
	}
	describeBean(ch)
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c *kernelCollector) Collect(ch chan<- prometheus.Metric) {
	collectBean(ch, c.collectCore(ch))
}

// collectCore sends the core's metrics and returns the peers' ids.
func (c *kernelCollector) collectCore(ch chan<- prometheus.Metric) []int {
	cl, err := c.d.o.Dial()
	if err != nil {
		ch <- gauge(descLoaded, 0)
		return nil
	}
	defer cl.Close()
	nodes, err := cl.Nodes()
	if err != nil {
		ch <- gauge(descLoaded, 0)
		return nil
	}
	stats, err := cl.Stats()
	if err != nil {
		ch <- gauge(descLoaded, 0)
		return nil
	}
	ch <- gauge(descLoaded, 1)
	self := -1
	var peers []int
	for _, n := range nodes {
		if n.Self {
			self = n.ID
			continue
		}
		peers = append(peers, n.ID)
		ch <- gauge(descUp, b2f(n.Up), strconv.Itoa(n.ID), n.Transport)
	}
	ch <- gauge(descSelf, float64(self))
	for i := range stats {
		s := &stats[i]
		for _, nd := range nodeDescs {
			ch <- counter(nd.d, nd.get(s), strconv.Itoa(s.ID), s.Transport)
		}
	}
	return peers
}

// pinger echoes 64 bytes to every up peer each PingEvery, for the RTT
// histogram.
func (d *Daemon) pinger(ctx context.Context) {
	if d.o.PingEvery <= 0 {
		return
	}
	for {
		sleep(ctx, d.o.PingEvery)
		if ctx.Err() != nil {
			return
		}
		d.pingAll(ctx)
	}
}

func (d *Daemon) pingAll(ctx context.Context) {
	cl, err := d.o.Dial()
	if err != nil {
		return
	}
	defer cl.Close()
	nodes, err := cl.Nodes()
	if err != nil {
		return
	}
	for _, n := range nodes {
		if n.Self || !n.Up {
			continue
		}
		id := strconv.Itoa(n.ID)
		rtts, err := cl.Ping(ctx, n.ID, pcnl.PingOptions{Count: 1, Size: 64, Timeout: time.Second})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d.m.pingFailures.WithLabelValues(id).Inc()
			continue
		}
		for _, r := range rtts {
			d.m.rtt.WithLabelValues(id).Observe(r.Seconds())
		}
	}
}
