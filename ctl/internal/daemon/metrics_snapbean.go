package daemon

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/popcorn-kernel/popcorn/ctl/internal/snapbean"
)

var (
	descBeanUp      = desc("snapbean_up", "1 while the Snap Bean device is up.", "device")
	descBeanCarrier = desc("snapbean_carrier", "1 while the Snap Bean device has carrier (a peer is up).", "device")
	beanDescs       = []struct {
		d   *prometheus.Desc
		get func(*snapbean.Status) uint64
	}{
		{desc("snapbean_rx_packets_total", "Frames received on Snap Bean.", "device"), func(s *snapbean.Status) uint64 { return s.RxPackets }},
		{desc("snapbean_rx_bytes_total", "Bytes received on Snap Bean.", "device"), func(s *snapbean.Status) uint64 { return s.RxBytes }},
		{desc("snapbean_rx_dropped_total", "Frames dropped on receive.", "device"), func(s *snapbean.Status) uint64 { return s.RxDropped }},
		{desc("snapbean_tx_packets_total", "Frames sent on Snap Bean.", "device"), func(s *snapbean.Status) uint64 { return s.TxPackets }},
		{desc("snapbean_tx_bytes_total", "Bytes sent on Snap Bean.", "device"), func(s *snapbean.Status) uint64 { return s.TxBytes }},
		{desc("snapbean_tx_dropped_total", "Frames dropped on transmit.", "device"), func(s *snapbean.Status) uint64 { return s.TxDropped }},
	}
	// The device's ethtool -S counters (Documentation/snapbean.rst).
	beanDevStats = counterDescs("snapbean_%s_total", "Snap Bean's %s counter.", []string{"device"},
		"tx_no_peer", "rx_pulled")
	beanPeerStats = counterDescs("snapbean_peer_%s_total", "Snap Bean's %s counter for one peer kernel.", []string{"device", "node"},
		"tx_packets", "tx_bytes", "rx_packets", "rx_bytes", "tx_dropped", "rx_dropped", "rx_errors")
	beanQueueStats = counterDescs("snapbean_queue_%s_total", "Times a Snap Bean transmit queue was %s.", []string{"device", "queue"},
		"stopped", "retried")
)

// counterDesc is one ethtool counter and its series.
type counterDesc struct {
	stat string
	d    *prometheus.Desc
}

func counterDescs(name, help string, labels []string, stats ...string) []counterDesc {
	out := make([]counterDesc, len(stats))
	for i, s := range stats {
		out[i] = counterDesc{s, desc(fmt.Sprintf(name, s), fmt.Sprintf(help, s), labels...)}
	}
	return out
}

func describeBean(ch chan<- *prometheus.Desc) {
	ch <- descBeanUp
	ch <- descBeanCarrier
	for _, b := range beanDescs {
		ch <- b.d
	}
	for _, set := range [][]counterDesc{beanDevStats, beanPeerStats, beanQueueStats} {
		for _, c := range set {
			ch <- c.d
		}
	}
}

// collectBean sends the device's state and counters: per peer for the
// core's peers, per transmit queue for every queue.
func collectBean(ch chan<- prometheus.Metric, peers []int) {
	b, err := snapbean.Get()
	if err != nil || b == nil {
		return
	}
	ch <- gauge(descBeanUp, b2f(b.Up), b.Name)
	ch <- gauge(descBeanCarrier, b2f(b.Carrier), b.Name)
	for _, bd := range beanDescs {
		ch <- counter(bd.d, bd.get(b), b.Name)
	}
	stats, err := snapbean.Counters(b.Name)
	if err != nil {
		return
	}
	for _, c := range beanDevStats {
		if v, ok := stats[c.stat]; ok {
			ch <- counter(c.d, v, b.Name)
		}
	}
	for _, id := range peers {
		for _, c := range beanPeerStats {
			if v, ok := stats[fmt.Sprintf("peer%d_%s", id, c.stat)]; ok {
				ch <- counter(c.d, v, b.Name, strconv.Itoa(id))
			}
		}
	}
	for q := 0; ; q++ {
		if _, ok := stats[fmt.Sprintf("txq%d_%s", q, beanQueueStats[0].stat)]; !ok {
			break
		}
		for _, c := range beanQueueStats {
			ch <- counter(c.d, stats[fmt.Sprintf("txq%d_%s", q, c.stat)], b.Name, strconv.Itoa(q))
		}
	}
}

func counter(d *prometheus.Desc, v uint64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}
