package daemon

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/popcorn-kernel/popcorn/ctl/internal/angel"
)

var (
	descLoadQueue = desc("angel_load_accept_queue", "Connections waiting in the service's accept queues, as the node last reported.", "node")
	descLoadEst   = desc("angel_load_established", "The service's established connections, as the node last reported.", "node")
	descLoadBusy  = desc("angel_load_cpu_busy", "Fraction of the node's CPU time busy, as it last reported.", "node")
	descSteering  = desc("angel_steering", "1 while this kernel's NIC steers the service with Angel.")
	descBuckets   = desc("angel_buckets", "Buckets of the table that name the node.", "node")
	descNewFlows  = desc("angel_new_flows_total", "New connections the NIC sent to the node.", "node")
	descPackets   = desc("angel_packets_total", "Service packets the NIC sent to the node.", "node")
	descPressure  = desc("angel_pressure", "The node's pressure in the policy's last period.", "node")
	descMoves     = desc("angel_bucket_moves_total", "Buckets the policy moved, by reason.", "why")
	descNoNode    = desc("angel_unsteered_packets_total", "Service packets the NIC steered to no node, by what they were.", "what")
)

// angelCollector reads the kernels' loads, and on the owner the data
// plane's maps and the policy's record, at scrape time.
type angelCollector struct{ d *Daemon }

func (c *angelCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLoadQueue, descLoadEst, descLoadBusy, descSteering,
		descBuckets, descNewFlows, descPackets, descPressure, descMoves, descNoNode} {
		ch <- d
	}
}

func (c *angelCollector) Collect(ch chan<- prometheus.Metric) {
	c.collectLoads(ch)
	c.d.mu.Lock()
	b := c.d.bal
	c.d.mu.Unlock()
	ch <- gauge(descSteering, b2f(b != nil))
	if b != nil {
		b.collect(ch)
	}
}

func (c *angelCollector) collectLoads(ch chan<- prometheus.Metric) {
	cl, err := c.d.o.Dial()
	if err != nil {
		return
	}
	defer cl.Close()
	loads, err := cl.Loads()
	if err != nil {
		return
	}
	for _, l := range loads {
		id := strconv.Itoa(l.ID)
		ch <- gauge(descLoadQueue, float64(l.AcceptQueue), id)
		ch <- gauge(descLoadEst, float64(l.Established), id)
		ch <- gauge(descLoadBusy, l.CPUBusy, id)
	}
}

func (b *balancer) collect(ch chan<- prometheus.Metric) {
	b.mu.Lock()
	defer b.mu.Unlock()
	count := map[uint32]int{}
	for _, n := range b.table {
		count[n]++
	}
	stats, err := b.dp.Stats()
	if err != nil {
		return
	}
	for id, n := range b.status.Nodes {
		s := strconv.Itoa(id)
		ch <- gauge(descBuckets, float64(count[uint32(id)]), s)
		ch <- gauge(descPressure, n.Pressure, s)
		ch <- counter(descNewFlows, stats[id].NewFlows, s)
		ch <- counter(descPackets, stats[id].Packets, s)
	}
	for _, why := range []string{angel.ReasonDown, angel.ReasonLoad, angel.ReasonShare, angel.ReasonDrain} {
		ch <- counter(descMoves, b.status.Moves[why], why)
	}
	if ev, err := b.dp.Events(); err == nil {
		ch <- counter(descNoNode, ev.Fragments, "fragment")
		ch <- counter(descNoNode, ev.Malformed, "malformed")
		ch <- counter(descNoNode, ev.BadNode, "bad_node")
	}
}
