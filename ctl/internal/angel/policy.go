// Package angel steers new TCP connections over several nodes: the kernels
// of a Popcorn machine, or the worker processes of one server behind an
// sk_reuseport group. A connection's 4-tuple hash picks one of Buckets
// buckets, and a Table names the node that receives each bucket's new
// connections. Established connections stay pinned where they are, so moving
// a bucket redirects only connections not yet made.
//
// Step is the balancing policy, a pure function of the table, the nodes'
// reports for the last period, the Config and the State it returned the
// period before. Its rules:
//
//  1. Affinity first: while loads are balanced the policy moves nothing of
//     its own accord; only a node that is down or draining loses buckets.
//  2. A node that is not Up, not listed, or named in the table but absent
//     from the nodes, loses all its buckets in one period, whatever MaxMoves
//     says ("down"): a bucket left there would drop its new connections. They
//     go to the Auto nodes with the fewest buckets for their weight, among
//     those not near the hot mark nor cooling down if there are any, else
//     among all Auto nodes, else among all up nodes. If no node is up,
//     nothing moves.
//  3. A hot node, an Auto node whose Pressure exceeds the weighted mean of
//     the Auto nodes' pressures by more than Threshold, sheds buckets ("load"),
//     hottest node first, to the Auto nodes below the mean that are not
//     cooling down, coolest first, in turn. It may shed down to no bucket at
//     all: its established connections live on.
//  4. Hysteresis: a hot node may gain no bucket for Cooldown periods, counted
//     again from every period it is still hot. A node below its weighted fair
//     share of buckets gains buckets back ("share") from the nodes most above
//     theirs, never from one below it, and only while no node is hot, its
//     cooldown is over and its pressure is not above the mean, or while
//     every Auto node's pressure is under Threshold (nearly idle: nothing
//     to judge by). So a node that comes up gains its share a few buckets
//     at a time.
//  5. A Drain node gives its buckets away ("drain") and gains none; a Hold
//     node neither gives nor gains. Down, both lose everything (rule 2).
//  6. A period moves at most MaxMoves buckets for reasons other than "down",
//     and each bucket at most once, so the moves are exactly the difference
//     between the old table and the new.
//  7. Same inputs, same outputs: nodes are visited in id order.
package angel

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Buckets is the length of a table that NewTable makes.
const Buckets = 1024

// Table maps a bucket to the id of the node that receives its new
// connections. Step accepts a table of any length.
type Table []uint32

// Load is what a node reports every period.
type Load struct {
	AcceptQueue uint32  // connections waiting in the service's listeners' accept queues
	Established uint32  // established connections of the service
	CPUBusy     float64 // fraction 0..1 of the node's CPUs busy in the last period
}

// Mode is how the policy may treat a node's buckets.
type Mode int

// Modes. A value outside these acts as Hold: the policy leaves alone a node
// it does not understand.
const (
	Auto  Mode = iota // the policy decides
	Drain             // give all its buckets away, MaxMoves per period; take none
	Hold              // its buckets stay where they are and it gains none (manual pin)
)

// Node is a node's configuration and its report for the last period.
type Node struct {
	ID     uint32
	Up     bool
	Weight float64 // its share of new connections when loads are equal; one that is not > 0 counts as 1
	Mode   Mode
	Load   Load
}

// Config tunes Step.
type Config struct {
	Threshold  float64 // a node sheds buckets when its pressure exceeds the weighted mean by more than this
	MaxMoves   int     // buckets moved per period, at most, not counting those of down nodes
	Cooldown   int     // periods a node that was hot waits before it may gain buckets again
	QueueScale float64 // accept-queue depth that counts as pressure 1.0
}

// DefaultConfig suits a 100 ms period: a hot node sheds 1.5% of the table
// per period and waits 2 s before it takes any back.
func DefaultConfig() Config {
	return Config{Threshold: 0.15, MaxMoves: 16, Cooldown: 20, QueueScale: 64}
}

// Validate names the first field of c that Step could not use as meant.
// Step itself accepts any Config and keeps its invariants.
func (c Config) Validate() error {
	switch {
	case !(c.Threshold >= 0) || math.IsInf(c.Threshold, 1):
		return fmt.Errorf("angel: Threshold %v: want a finite number >= 0", c.Threshold)
	case c.MaxMoves < 0:
		return fmt.Errorf("angel: MaxMoves %d: want >= 0", c.MaxMoves)
	case c.Cooldown < 0:
		return fmt.Errorf("angel: Cooldown %d: want >= 0", c.Cooldown)
	case !(c.QueueScale > 0) || math.IsInf(c.QueueScale, 1):
		return fmt.Errorf("angel: QueueScale %v: want a finite number > 0", c.QueueScale)
	}
	return nil
}

// State is what Step remembers between periods. The zero value is the state
// before the first period. Step never changes the State it is given.
type State struct {
	cooldown map[uint32]int // node id -> periods before it may gain buckets; absent means 0
}

// Cooldown returns how many more periods node id must wait before it may
// gain buckets.
func (s State) Cooldown(id uint32) int { return s.cooldown[id] }

// Reasons a Move gives.
const (
	ReasonDown  = "down"  // its node is down, not Up or not listed
	ReasonDrain = "drain" // its node is draining
	ReasonLoad  = "load"  // shed off a hot node
	ReasonShare = "share" // back toward a node below its fair share
)

// Move is one bucket given to another node.
type Move struct {
	Bucket   int
	From, To uint32
	Why      string // one of the Reason constants
}

// maxWeight keeps sums of weights finite.
const maxWeight = 1e9

// Pressure is how loaded a node is: its CPU busy fraction plus its
// accept-queue depth over cfg.QueueScale. Either alone can make a node the
// bottleneck: workers that block queue connections at low CPU, and a node
// short of CPU can keep its queue empty. The sum ranks a node whose CPU is
// saturated and whose queue grows above one that is merely saturated: under
// heavy load every node's CPU is, and only the queue tells which falls
// behind. The queue term is not capped. Established
// connections are not pressure: idle keep-alive connections cost little, and
// the count tells more of a node's past than of its present. A CPUBusy
// outside 0..1 is clamped; a QueueScale not above 0 leaves the queue out.
func Pressure(l Load, cfg Config) float64 {
	p := 0.0
	if l.CPUBusy > 0 {
		p = min(l.CPUBusy, 1)
	}
	if cfg.QueueScale > 0 {
		p += float64(l.AcceptQueue) / cfg.QueueScale
	}
	return p
}

// NewTable spreads Buckets buckets over the up nodes that are not draining,
// in proportion to their weights, each node's buckets scattered over the
// table rather than in one range. With no such node it spreads them over all
// the nodes, so that Step hands them to the first node that comes up; with
// no node at all it returns nil. Of nodes with the same id the first counts.
func NewTable(nodes []Node) Table {
	ps := peersOf(nodes)
	takers := filter(ps, func(n *peer) bool { return n.Up && n.Mode != Drain })
	if len(takers) == 0 {
		takers = ps
	}
	if len(takers) == 0 {
		return nil
	}
	return interleave(takers, apportion(takers, Buckets))
}

// Step is one period of the policy (see the package comment): it returns the
// next table, the State to pass to the next Step and the buckets that moved.
// It changes neither t nor st. Of nodes with the same id the first counts.
func Step(t Table, nodes []Node, st State, cfg Config) (Table, State, []Move) {
	p := newPlan(t, nodes, st, cfg)
	next := p.state()
	if !slices.ContainsFunc(p.peers, isUp) {
		return p.table, next, nil
	}
	p.rescueDown()
	p.shedLoad()
	p.drain()
	p.share()
	return p.table, next, p.moves
}

// peer is a node as one Step sees it.
type peer struct {
	Node
	weight   float64 // Weight made usable
	pressure float64
	count    int  // buckets it holds
	quota    int  // its fair share of buckets, for Auto nodes
	cool     int  // periods before it may gain buckets
	hot      bool // Auto and above the mean by more than the threshold
	spent    bool // it holds only buckets that moved this period
}

func isUp(n *peer) bool   { return n.Up }
func isAuto(n *peer) bool { return n.Up && n.Mode == Auto }
func isHot(n *peer) bool  { return n.hot }
func isHold(n *peer) bool { return n.Up && n.Mode != Auto && n.Mode != Drain }

// canGive reports whether n still holds a bucket it may give this period.
func canGive(n *peer) bool { return n.count > 0 && !n.spent }

// always accepts every node.
func always(*peer) bool { return true }

// peersOf returns one peer per id, in id order.
func peersOf(nodes []Node) []*peer {
	ps := make([]*peer, 0, len(nodes))
	for _, n := range nodes {
		w := 1.0
		if n.Weight > 0 {
			w = min(n.Weight, maxWeight)
		}
		ps = append(ps, &peer{Node: n, weight: w})
	}
	slices.SortStableFunc(ps, func(a, b *peer) int { return cmp.Compare(a.ID, b.ID) })
	return slices.CompactFunc(ps, func(a, b *peer) bool { return a.ID == b.ID })
}

// filter returns the peers of ps that keep accepts, in the same order.
func filter(ps []*peer, keep func(*peer) bool) []*peer {
	var out []*peer
	for _, n := range ps {
		if keep(n) {
			out = append(out, n)
		}
	}
	return out
}

// apportion divides n buckets over ps by weight, giving the buckets left by
// rounding down to the largest remainders (the lowest id on a tie). With no
// peers it divides nothing.
func apportion(ps []*peer, n int) []int {
	if len(ps) == 0 {
		return nil
	}
	total := 0.0
	for _, p := range ps {
		total += p.weight
	}
	quotas := make([]int, len(ps))
	rests := make([]float64, len(ps))
	left := n
	for i, p := range ps {
		exact := p.weight / total * float64(n)
		quotas[i] = int(exact)
		rests[i] = exact - float64(quotas[i])
		left -= quotas[i]
	}
	order := make([]int, len(ps))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rests[b], rests[a]) })
	for _, i := range order[:left] {
		quotas[i]++
	}
	return quotas
}

// interleave lays out a table in which ps[i] holds quotas[i] buckets, by
// smooth weighted round robin: each node's buckets come at even intervals.
func interleave(ps []*peer, quotas []int) Table {
	n := 0
	for _, q := range quotas {
		n += q
	}
	t := make(Table, n)
	credit := make([]int, len(ps))
	for b := range t {
		top := 0
		for i, q := range quotas {
			credit[i] += q
			if credit[i] > credit[top] {
				top = i
			}
		}
		credit[top] -= n
		t[b] = ps[top].ID
	}
	return t
}

// plan is one Step at work.
type plan struct {
	cfg    Config
	table  Table
	peers  []*peer // in id order
	byID   map[uint32]*peer
	mean   float64 // weighted mean pressure of the up Auto nodes
	moved  []bool  // by bucket: it moved this period
	budget int     // moves left this period, "down" aside
	moves  []Move
}

func newPlan(t Table, nodes []Node, st State, cfg Config) *plan {
	p := &plan{
		cfg:    cfg,
		table:  slices.Clone(t),
		peers:  peersOf(nodes),
		byID:   make(map[uint32]*peer, len(nodes)),
		moved:  make([]bool, len(t)),
		budget: cfg.MaxMoves,
	}
	for _, n := range p.peers {
		p.byID[n.ID] = n
		n.pressure = Pressure(n.Load, cfg)
	}
	for _, id := range t {
		if n := p.byID[id]; n != nil {
			n.count++
		}
	}
	p.mean = weightedMean(filter(p.peers, isAuto))
	for _, n := range p.peers {
		n.hot = isAuto(n) && n.pressure > p.mean+cfg.Threshold
		n.cool = max(st.Cooldown(n.ID)-1, 0)
		if n.hot {
			n.cool = max(cfg.Cooldown, 0)
		}
	}
	p.setQuotas()
	return p
}

func weightedMean(ps []*peer) float64 {
	sum, weights := 0.0, 0.0
	for _, n := range ps {
		sum += n.weight * n.pressure
		weights += n.weight
	}
	if weights == 0 {
		return 0
	}
	return sum / weights
}

// setQuotas gives each Auto node its weighted share of the buckets that Hold
// nodes do not pin.
func (p *plan) setQuotas() {
	pool := len(p.table)
	for _, n := range filter(p.peers, isHold) {
		pool -= n.count
	}
	autos := filter(p.peers, isAuto)
	for i, q := range apportion(autos, pool) {
		autos[i].quota = q
	}
}

// state is what the next period must remember: the cooldowns still running.
func (p *plan) state() State {
	var s State
	for _, n := range p.peers {
		if n.cool == 0 {
			continue
		}
		if s.cooldown == nil {
			s.cooldown = make(map[uint32]int)
		}
		s.cooldown[n.ID] = n.cool
	}
	return s
}

// mayTake reports whether n may take buckets in bulk: an Auto node neither
// cooling down nor near the hot mark.
func (p *plan) mayTake(n *peer) bool {
	return isAuto(n) && n.cool == 0 && n.pressure < p.mean+p.cfg.Threshold/2
}

// firstTier returns the peers that the first of tiers accepts, or if none
// does, those that the next accepts, and so on.
func (p *plan) firstTier(tiers ...func(*peer) bool) []*peer {
	for _, keep := range tiers {
		if ps := filter(p.peers, keep); len(ps) > 0 {
			return ps
		}
	}
	return nil
}

// rescueDown hands every bucket of a node that is not up to an up node.
// Step calls it only when some node is up.
func (p *plan) rescueDown() {
	to := fewestPerWeight(p.firstTier(p.mayTake, isAuto, isUp))
	for b, id := range p.table {
		if n := p.byID[id]; n == nil || !n.Up {
			p.move(b, to(), ReasonDown)
		}
	}
}

// shedLoad moves buckets off the hot nodes, hottest first, in turn to the
// Auto nodes below the mean, coolest first.
func (p *plan) shedLoad() {
	hot := filter(p.peers, isHot)
	slices.SortStableFunc(hot, func(a, b *peer) int { return cmp.Compare(b.pressure, a.pressure) })
	cool := filter(p.peers, func(n *peer) bool { return isAuto(n) && n.cool == 0 && n.pressure < p.mean })
	slices.SortStableFunc(cool, func(a, b *peer) int { return cmp.Compare(a.pressure, b.pressure) })
	p.transfer(rotate(hot, canGive), rotate(cool, always), ReasonLoad)
}

// drain moves buckets off Drain nodes. An operator asked for it, so when
// every Auto node is warm or cooling down they take the buckets all the same.
func (p *plan) drain() {
	drains := filter(p.peers, func(n *peer) bool { return n.Up && n.Mode == Drain })
	to := fewestPerWeight(p.firstTier(p.mayTake, isAuto))
	p.transfer(rotate(drains, canGive), to, ReasonDrain)
}

// share moves buckets back to the cool nodes below their fair share, from
// the nodes most above theirs, while no node is hot.
func (p *plan) share() {
	if slices.ContainsFunc(p.peers, isHot) {
		return
	}
	// When every node is nearly idle there is no load to judge by: the
	// shares even out.
	idle := !slices.ContainsFunc(p.peers, func(n *peer) bool {
		return isAuto(n) && n.pressure >= p.cfg.Threshold
	})
	takers := filter(p.peers, func(n *peer) bool {
		return isAuto(n) && n.cool == 0 && (idle || n.pressure <= p.mean)
	})
	from := best(p.peers,
		func(n *peer) bool { return isAuto(n) && n.count > n.quota && !n.spent },
		func(n *peer) float64 { return float64(n.count - n.quota) })
	to := best(takers,
		func(n *peer) bool { return n.count < n.quota },
		func(n *peer) float64 { return float64(n.quota - n.count) })
	p.transfer(from, to, ReasonShare)
}

// transfer moves buckets one at a time from the node that from names to the
// node that to names, while the period's budget lasts and both name one.
func (p *plan) transfer(from, to func() *peer, why string) {
	for p.budget > 0 {
		g := from()
		if g == nil {
			return
		}
		b, ok := p.lastBucket(g.ID)
		if !ok {
			g.spent = true
			continue
		}
		r := to()
		if r == nil {
			return
		}
		p.move(b, r, why)
	}
}

// lastBucket returns the highest bucket of node id that has not moved this
// period, so that no bucket moves twice.
func (p *plan) lastBucket(id uint32) (int, bool) {
	for b := len(p.table) - 1; b >= 0; b-- {
		if p.table[b] == id && !p.moved[b] {
			return b, true
		}
	}
	return 0, false
}

func (p *plan) move(b int, to *peer, why string) {
	from := p.table[b]
	if n := p.byID[from]; n != nil {
		n.count--
	}
	to.count++
	p.table[b] = to.ID
	p.moved[b] = true
	if why != ReasonDown {
		p.budget--
	}
	p.moves = append(p.moves, Move{Bucket: b, From: from, To: to.ID, Why: why})
}

// rotate returns, call after call, the next node of ps that ok accepts,
// round and round; nil when it accepts none.
func rotate(ps []*peer, ok func(*peer) bool) func() *peer {
	next := 0
	return func() *peer {
		for range ps {
			n := ps[next%len(ps)]
			next++
			if ok(n) {
				return n
			}
		}
		return nil
	}
}

// best returns, call after call, the node of ps that ok accepts with the
// highest score, the lowest id on a tie; nil when it accepts none.
func best(ps []*peer, ok func(*peer) bool, score func(*peer) float64) func() *peer {
	return func() *peer {
		var top *peer
		for _, n := range ps {
			if ok(n) && (top == nil || score(n) > score(top)) {
				top = n
			}
		}
		return top
	}
}

// fewestPerWeight returns, call after call, the node of ps with the fewest
// buckets for its weight, as the D'Hondt method picks: the highest
// weight/(count+1).
func fewestPerWeight(ps []*peer) func() *peer {
	return best(ps, always, func(n *peer) float64 { return n.weight / float64(n.count+1) })
}
