package angel

import (
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// loaded returns up Auto nodes 0..len(cpu)-1 of weight 1 with those CPU loads.
func loaded(cpu ...float64) []Node {
	ns := make([]Node, len(cpu))
	for i, c := range cpu {
		ns[i] = Node{ID: uint32(i), Up: true, Weight: 1, Load: Load{CPUBusy: c}}
	}
	return ns
}

func countOf(t Table) map[uint32]int {
	c := make(map[uint32]int)
	for _, id := range t {
		c[id]++
	}
	return c
}

// movedTo counts the moves per receiving node.
func movedTo(moves []Move) map[uint32]int {
	c := make(map[uint32]int)
	for _, m := range moves {
		c[m.To]++
	}
	return c
}

// checkStep fails t unless Step's output for these inputs keeps its
// invariants: no bucket lost, every bucket on an up node, the moves exactly
// the table's difference, the budget and the modes respected.
func checkStep(t *testing.T, old Table, nodes []Node, cfg Config, next Table, moves []Move) {
	t.Helper()
	byID := make(map[uint32]Node)
	autoUp := false
	for _, n := range nodes {
		if _, dup := byID[n.ID]; !dup {
			byID[n.ID] = n
			autoUp = autoUp || n.Up && n.Mode == Auto
		}
	}
	up := func(id uint32) bool { return byID[id].Up }
	if len(next) != len(old) {
		t.Fatalf("table of %d buckets became %d", len(old), len(next))
	}
	if !slices.ContainsFunc(nodes, func(n Node) bool { return n.Up }) {
		if !slices.Equal(next, old) || len(moves) != 0 {
			t.Fatalf("nothing up, yet the table changed: %d moves", len(moves))
		}
		return
	}
	for b, id := range next {
		if !up(id) {
			t.Fatalf("bucket %d names node %d, which is not up", b, id)
		}
	}
	seen := make(map[int]bool)
	budgeted := 0
	whys := make(map[string]int)
	reasons := []string{ReasonDown, ReasonDrain, ReasonLoad, ReasonShare}
	for _, m := range moves {
		if !slices.Contains(reasons, m.Why) {
			t.Fatalf("move %+v: unknown reason", m)
		}
		if seen[m.Bucket] {
			t.Fatalf("bucket %d moved twice in one period", m.Bucket)
		}
		seen[m.Bucket] = true
		if m.From != old[m.Bucket] || m.To != next[m.Bucket] || m.From == m.To {
			t.Fatalf("move %+v disagrees with the tables: %d -> %d", m, old[m.Bucket], next[m.Bucket])
		}
		if (m.Why == ReasonDown) == up(m.From) {
			t.Fatalf("move %+v: From up is %v", m, up(m.From))
		}
		if to := byID[m.To]; to.Mode != Auto && (m.Why != ReasonDown || autoUp) {
			t.Fatalf("move %+v to a node of mode %d", m, to.Mode)
		}
		if m.Why != ReasonDown {
			budgeted++
		}
		whys[m.Why]++
	}
	for b := range old {
		if old[b] != next[b] && !seen[b] {
			t.Fatalf("bucket %d moved %d -> %d without a Move", b, old[b], next[b])
		}
	}
	if budgeted > max(cfg.MaxMoves, 0) {
		t.Fatalf("%d moves for load, share or drain, MaxMoves is %d", budgeted, cfg.MaxMoves)
	}
	if whys[ReasonLoad] > 0 && whys[ReasonShare] > 0 {
		t.Fatalf("a period both shed load and shared: %v", whys)
	}
}

func TestPressure(t *testing.T) {
	cfg := DefaultConfig()
	for _, tc := range []struct {
		name string
		load Load
		cfg  Config
		want float64
	}{
		{"idle", Load{}, cfg, 0},
		{"cpu", Load{CPUBusy: 0.7}, cfg, 0.7},
		{"queue and cpu", Load{CPUBusy: 0.25, AcceptQueue: 32}, cfg, 0.75},
		{"saturated, a queue on top", Load{CPUBusy: 1, AcceptQueue: 32}, cfg, 1.5},
		{"queue is not capped", Load{AcceptQueue: 128}, cfg, 2},
		{"established is not pressure", Load{Established: 1e6}, cfg, 0},
		{"cpu above 1", Load{CPUBusy: 1.5}, cfg, 1},
		{"cpu below 0", Load{CPUBusy: -1}, cfg, 0},
		{"cpu NaN", Load{CPUBusy: math.NaN()}, cfg, 0},
		{"no queue scale", Load{CPUBusy: 0.3, AcceptQueue: 1000}, Config{}, 0.3},
	} {
		if got := Pressure(tc.load, tc.cfg); got != tc.want {
			t.Errorf("%s: Pressure(%+v) = %v, want %v", tc.name, tc.load, got, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	for field, bad := range map[string]func(*Config){
		"Threshold":  func(c *Config) { c.Threshold = math.NaN() },
		"MaxMoves":   func(c *Config) { c.MaxMoves = -1 },
		"Cooldown":   func(c *Config) { c.Cooldown = -1 },
		"QueueScale": func(c *Config) { c.QueueScale = 0 },
	} {
		c := DefaultConfig()
		bad(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("bad %s: Validate() = %v, want an error naming it", field, err)
		}
	}
}

func TestNewTableSpread(t *testing.T) {
	weighted := loaded(0, 0, 0)
	weighted[2].Weight = 2
	modes := loaded(0, 0, 0, 0, 0)
	modes[1].Up = false
	modes[2].Mode = Drain
	modes[3].Mode = Hold
	down := loaded(0, 0)
	down[0].Up, down[1].Up = false, false
	badWeights := loaded(0, 0)
	badWeights[0].Weight, badWeights[1].Weight = 0, math.NaN()
	for _, tc := range []struct {
		name  string
		nodes []Node
		want  map[uint32]int
	}{
		{"equal", loaded(0, 0, 0, 0), map[uint32]int{0: 256, 1: 256, 2: 256, 3: 256}},
		{"weighted", weighted, map[uint32]int{0: 256, 1: 256, 2: 512}},
		{"remainder to the lowest ids", loaded(0, 0, 0), map[uint32]int{0: 342, 1: 341, 2: 341}},
		{"down and draining get none, held do", modes, map[uint32]int{0: 342, 3: 341, 4: 341}},
		{"nothing up: every node", down, map[uint32]int{0: 512, 1: 512}},
		{"a weight not > 0 counts as 1", badWeights, map[uint32]int{0: 512, 1: 512}},
	} {
		got := NewTable(tc.nodes)
		if len(got) != Buckets {
			t.Fatalf("%s: %d buckets", tc.name, len(got))
		}
		if c := countOf(got); !maps.Equal(c, tc.want) {
			t.Errorf("%s: counts %v, want %v", tc.name, c, tc.want)
		}
		// Interleaved: every eighth of the table holds an eighth of each share.
		const parts = 8
		for p := range parts {
			part := countOf(got[p*Buckets/parts : (p+1)*Buckets/parts])
			for id, n := range tc.want {
				if d := part[id]*parts - n; d < -parts || d > parts {
					t.Errorf("%s: part %d holds %d buckets of node %d, want about %d", tc.name, p, part[id], id, n/parts)
				}
			}
		}
		if again := NewTable(reversed(tc.nodes)); !slices.Equal(got, again) {
			t.Errorf("%s: depends on the order of the nodes", tc.name)
		}
	}
	if got := NewTable(nil); got != nil {
		t.Errorf("NewTable(nil) = %d buckets, want nil", len(got))
	}
}

// reversed returns ns in reverse order.
func reversed(ns []Node) []Node {
	r := slices.Clone(ns)
	slices.Reverse(r)
	return r
}

func TestBalancedLoadMovesNothing(t *testing.T) {
	cfg := DefaultConfig()
	weighted := loaded(0, 0, 0, 0)
	weighted[1].Weight = 2
	r := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		name         string
		nodes        []Node
		table        Table
		center, wave float64 // every CPU load is center ± wave, drawn anew each period
	}{
		{"noise within the threshold", weighted, NewTable(weighted), 0.5, 0.07},
		{"saturated", weighted, NewTable(weighted), 1, 0},
	} {
		tab, st := tc.table, State{}
		for period := range 200 {
			for i := range tc.nodes {
				tc.nodes[i].Load.CPUBusy = tc.center + tc.wave*(2*r.Float64()-1)
			}
			var moves []Move
			tab, st, moves = Step(tab, tc.nodes, st, cfg)
			if len(moves) > 0 {
				t.Fatalf("%s: period %d moved %v", tc.name, period, moves)
			}
		}
	}
}

func TestDownLosesAllAtOnce(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxMoves = 1 // does not limit down moves
	four := NewTable(loaded(0, 0, 0, 0))
	stranger := slices.Clone(four)
	for b, id := range stranger {
		if id == 2 {
			stranger[b] = 42
		}
	}
	notUp := loaded(.5, .5, .5, .5)
	notUp[2].Up = false
	heldDown := loaded(.5, .5, .5, .5)
	heldDown[2].Up, heldDown[2].Mode = false, Hold
	for _, tc := range []struct {
		name  string
		table Table
		nodes []Node
		lost  uint32
	}{
		{"not up", four, notUp, 2},
		{"held, not up", four, heldDown, 2},
		{"not listed", four, slices.Delete(loaded(.5, .5, .5, .5), 2, 3), 2},
		{"unknown id in the table", stranger, slices.Delete(loaded(.5, .5, .5, .5), 2, 3), 42},
	} {
		next, _, moves := Step(tc.table, tc.nodes, State{}, cfg)
		checkStep(t, tc.table, tc.nodes, cfg, next, moves)
		lost := countOf(tc.table)[tc.lost]
		if len(moves) != lost || countOf(next)[tc.lost] != 0 {
			t.Errorf("%s: %d moves, %d buckets left, want %d moves and none left", tc.name, len(moves), countOf(next)[tc.lost], lost)
		}
		for id, n := range movedTo(moves) {
			if n < lost/3 || n > lost/3+1 {
				t.Errorf("%s: node %d took %d of %d buckets, want a third", tc.name, id, n, lost)
			}
		}
	}
}

// Down buckets avoid hot and cooling nodes, and do not eat the budget.
func TestDownSkipsHotAndCooling(t *testing.T) {
	cfg := DefaultConfig()
	nodes := loaded(.3, .95, .3, .3, .3)
	nodes[2].Up = false
	st := State{cooldown: map[uint32]int{3: 5}}
	tab := NewTable(loaded(0, 0, 0, 0, 0))
	next, _, moves := Step(tab, nodes, st, cfg)
	checkStep(t, tab, nodes, cfg, next, moves)
	shed := 0
	for _, m := range moves {
		if m.Why == ReasonDown && m.To != 0 && m.To != 4 {
			t.Errorf("down bucket went to node %d, hot or cooling", m.To)
		}
		if m.Why == ReasonLoad {
			shed++
		}
	}
	if shed != cfg.MaxMoves {
		t.Errorf("hot node shed %d buckets beside the down moves, want %d", shed, cfg.MaxMoves)
	}
}

func TestComesUpGradually(t *testing.T) {
	cfg := DefaultConfig()
	for _, tc := range []struct {
		name   string
		loaded float64 // CPU load of the nodes already up
		want   int     // buckets node 3 ends with
	}{
		{"others loaded", 0.5, Buckets / 4},
		{"idle: the shares even out", 0.01, Buckets / 4},
	} {
		tab := NewTable(loaded(0, 0, 0))
		nodes := loaded(tc.loaded, tc.loaded, tc.loaded, 0.01)
		var st State
		for period := range 40 {
			before := countOf(tab)[3]
			next, st2, moves := Step(tab, nodes, st, cfg)
			checkStep(t, tab, nodes, cfg, next, moves)
			want := min(cfg.MaxMoves, tc.want-before)
			if len(moves) != want || movedTo(moves)[3] != want {
				t.Fatalf("%s: period %d: %d moves, %d to node 3, want %d", tc.name, period, len(moves), movedTo(moves)[3], want)
			}
			for _, m := range moves {
				if m.Why != ReasonShare {
					t.Fatalf("%s: move %+v, want share", tc.name, m)
				}
			}
			tab, st = next, st2
		}
		c := countOf(tab)
		if rest := []int{c[0], c[1], c[2]}; c[3] != tc.want || slices.Max(rest)-slices.Min(rest) > 1 {
			t.Errorf("%s: counts %v, want %d for node 3 and the rest even", tc.name, c, tc.want)
		}
	}
}

func TestShedsOffHotKernel(t *testing.T) {
	cfg := DefaultConfig()
	queued := loaded(.3, .3, .3, .3)
	queued[2].Load.AcceptQueue = 192
	for _, tc := range []struct {
		name  string
		nodes []Node
		st    State
		hot   uint32
		want  map[uint32]int // buckets each receiver takes
	}{
		{"cpu, to the nodes below the mean", loaded(.95, .2, .3, .5), State{}, 0, map[uint32]int{1: 8, 2: 8}},
		{"accept queue", queued, State{}, 2, map[uint32]int{0: 6, 1: 5, 3: 5}},
		{"not to a cooling node", loaded(.95, .2, .3, .3), State{cooldown: map[uint32]int{1: 3}}, 0, map[uint32]int{2: 8, 3: 8}},
	} {
		tab := NewTable(loaded(0, 0, 0, 0))
		next, st, moves := Step(tab, tc.nodes, tc.st, cfg)
		checkStep(t, tab, tc.nodes, cfg, next, moves)
		if got := movedTo(moves); !maps.Equal(got, tc.want) {
			t.Errorf("%s: moved to %v, want %v", tc.name, got, tc.want)
		}
		for _, m := range moves {
			if m.From != tc.hot || m.Why != ReasonLoad {
				t.Errorf("%s: move %+v, want load off node %d", tc.name, m, tc.hot)
			}
		}
		if got := st.Cooldown(tc.hot); got != cfg.Cooldown {
			t.Errorf("%s: hot node's cooldown %d, want %d", tc.name, got, cfg.Cooldown)
		}
	}
	// The coolest receiver comes first, and the highest buckets go first.
	tab := NewTable(loaded(0, 0, 0, 0))
	_, _, moves := Step(tab, loaded(.95, .3, .2, .3), State{}, cfg)
	highest := -1
	for b, id := range tab {
		if id == 0 {
			highest = b
		}
	}
	if moves[0].To != 2 || moves[0].Bucket != highest {
		t.Errorf("first move %+v, want the highest bucket of node 0 to node 2", moves[0])
	}
}

func TestCooldown(t *testing.T) {
	cfg := DefaultConfig()
	tab := NewTable(loaded(0, 0, 0, 0))
	var st State
	step := func(nodes []Node) []Move {
		t.Helper()
		next, st2, moves := Step(tab, nodes, st, cfg)
		checkStep(t, tab, nodes, cfg, next, moves)
		tab, st = next, st2
		return moves
	}
	for period := range 3 {
		if moves := step(loaded(.95, .3, .3, .3)); len(moves) != cfg.MaxMoves {
			t.Fatalf("hot period %d: %d moves, want %d", period, len(moves), cfg.MaxMoves)
		}
		if got := st.Cooldown(0); got != cfg.Cooldown {
			t.Fatalf("hot period %d: cooldown %d, want it restarted at %d", period, got, cfg.Cooldown)
		}
	}
	// Node 0 is now cool and below its share, but must wait.
	for period := 1; period <= cfg.Cooldown; period++ {
		moves := step(loaded(0, .5, .5, .5))
		if got, want := st.Cooldown(0), cfg.Cooldown-period; got != want {
			t.Fatalf("cool period %d: cooldown %d, want %d", period, got, want)
		}
		want := 0
		if period == cfg.Cooldown {
			want = cfg.MaxMoves
		}
		if got := movedTo(moves)[0]; got != want || len(moves) != want {
			t.Fatalf("cool period %d: %d moves, %d to node 0, want %d", period, len(moves), got, want)
		}
	}
}

func TestDrainAndHold(t *testing.T) {
	cfg := DefaultConfig()
	four := NewTable(loaded(0, 0, 0, 0))
	withMode := func(nodes []Node, id uint32, m Mode) []Node {
		nodes[id].Mode = m
		return nodes
	}
	noHold := make(Table, Buckets) // node 1 holds nothing
	for b := range noHold {
		noHold[b] = []uint32{0, 2, 3}[b%3]
	}
	for _, tc := range []struct {
		name    string
		nodes   []Node
		table   Table
		periods int
		want    map[uint32]int // counts at the end
	}{
		{"drain gives all, MaxMoves a period, takes none", withMode(loaded(.5, .5, .5, 0), 3, Drain), four, 20,
			map[uint32]int{0: 342, 1: 341, 2: 341}},
		{"a hot hold node gives nothing", withMode(loaded(.5, .99, .5, .5), 1, Hold), four, 20,
			map[uint32]int{0: 256, 1: 256, 2: 256, 3: 256}},
		{"a cool hold node below its share takes nothing", withMode(loaded(.6, 0, .6, .6), 1, Hold), noHold, 20,
			map[uint32]int{0: 342, 2: 341, 3: 341}},
	} {
		tab, st := tc.table, State{}
		for period := range tc.periods {
			next, st2, moves := Step(tab, tc.nodes, st, cfg)
			checkStep(t, tab, tc.nodes, cfg, next, moves)
			for _, m := range moves {
				if m.Why != ReasonDrain {
					t.Fatalf("%s: period %d: move %+v", tc.name, period, m)
				}
			}
			tab, st = next, st2
		}
		if got := countOf(tab); !maps.Equal(got, tc.want) {
			t.Errorf("%s: counts %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestNothingUp(t *testing.T) {
	cfg := DefaultConfig()
	down := loaded(.5, .5)
	down[0].Up, down[1].Up = false, false
	for _, nodes := range [][]Node{down, nil} {
		tab := NewTable(loaded(0, 0))
		tab[7] = 42
		next, _, moves := Step(tab, nodes, State{}, cfg)
		if !slices.Equal(next, tab) || len(moves) != 0 {
			t.Errorf("%d nodes, none up: %d moves", len(nodes), len(moves))
		}
	}
}

// randomInput draws inputs of every kind Step accepts, odd ones included.
func randomInput(r *rand.Rand) (Table, []Node, State, Config) {
	var nodes []Node
	for _, id := range r.Perm(12)[:r.IntN(9)] {
		n := Node{
			ID:     uint32(id),
			Up:     r.IntN(5) > 0,
			Weight: []float64{1, 1, 0.25, 0.5, 2, 4, 0, math.NaN()}[r.IntN(8)],
			Mode:   []Mode{Auto, Auto, Auto, Auto, Auto, Drain, Hold}[r.IntN(7)],
			Load:   Load{CPUBusy: r.Float64() * 1.1},
		}
		if r.IntN(3) == 0 {
			n.Load.AcceptQueue = uint32(r.IntN(200))
		}
		nodes = append(nodes, n)
	}
	tab := NewTable(nodes)
	if len(tab) == 0 || r.IntN(2) == 0 {
		tab = make(Table, []int{1, 7, Buckets}[r.IntN(3)])
		for b := range tab {
			tab[b] = uint32(r.IntN(14)) // 12 and 13 are never listed
		}
	}
	st := State{cooldown: make(map[uint32]int)}
	for range r.IntN(4) {
		st.cooldown[uint32(r.IntN(14))] = 1 + r.IntN(30)
	}
	cfg := Config{
		Threshold:  r.Float64() * 0.3,
		MaxMoves:   r.IntN(33),
		Cooldown:   r.IntN(30),
		QueueScale: 64,
	}
	return tab, nodes, st, cfg
}

func TestPropertyInvariants(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 3))
	for range 3000 {
		tab, nodes, st, cfg := randomInput(r)
		next, st2, moves := Step(tab, nodes, st, cfg)
		checkStep(t, tab, nodes, cfg, next, moves)
		for id, c := range st2.cooldown {
			if c <= 0 || c > max(cfg.Cooldown, st.Cooldown(id)-1) {
				t.Fatalf("node %d cooldown %d, was %d, Cooldown is %d", id, c, st.Cooldown(id), cfg.Cooldown)
			}
		}
	}
}

func TestStepIsPure(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 5))
	for range 300 {
		tab, nodes, st, cfg := randomInput(r)
		tabCopy, stCopy := slices.Clone(tab), maps.Clone(st.cooldown)
		next, st2, moves := Step(tab, nodes, st, cfg)
		if !slices.Equal(tab, tabCopy) || !maps.Equal(st.cooldown, stCopy) {
			t.Fatal("Step changed its input")
		}
		again, st3, moves3 := Step(tab, reversed(nodes), st, cfg)
		if !slices.Equal(next, again) || !maps.Equal(st2.cooldown, st3.cooldown) || !reflect.DeepEqual(moves, moves3) {
			t.Fatal("Step gave two answers to one question")
		}
		if len(next) > 0 {
			next[0]++
		}
		if st2.cooldown != nil {
			st2.cooldown[99] = 1
		}
		if !slices.Equal(tab, tabCopy) || !maps.Equal(st.cooldown, stCopy) {
			t.Fatal("Step's output shares memory with its input")
		}
	}
}

// farm simulates nodes whose CPU load follows the buckets they hold:
// CPUBusy = min(1, base + k*buckets/Buckets).
type farm struct {
	t       *testing.T
	cfg     Config
	nodes   []Node
	base, k []float64
	table   Table
	state   State
}

func newFarm(t *testing.T, cfg Config, weights, base, k []float64) *farm {
	f := &farm{t: t, cfg: cfg, base: base, k: k}
	for i, w := range weights {
		f.nodes = append(f.nodes, Node{ID: uint32(i), Up: true, Weight: w})
	}
	f.table = NewTable(f.nodes)
	return f
}

func (f *farm) count(id uint32) int { return countOf(f.table)[id] }

// step runs one period and returns its moves.
func (f *farm) step() []Move {
	f.t.Helper()
	c := countOf(f.table)
	for i := range f.nodes {
		f.nodes[i].Load.CPUBusy = min(1, f.base[i]+f.k[i]*float64(c[uint32(i)])/Buckets)
	}
	next, st, moves := Step(f.table, f.nodes, f.state, f.cfg)
	checkStep(f.t, f.table, f.nodes, f.cfg, next, moves)
	f.table, f.state = next, st
	return moves
}

func TestPropertySettlesWithoutFlapping(t *testing.T) {
	type hop struct {
		bucket   int
		from, to uint32
	}
	r := rand.New(rand.NewPCG(6, 7))
	moved := 0
	for sim := range 12 {
		n := 2 + r.IntN(7)
		weights, base, k := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range n {
			weights[i] = 0.5 + 1.5*r.Float64()
			base[i] = 0.2 * r.Float64()
		}
		base[r.IntN(n)] = 0.5 + 0.45*r.Float64() // the node with something else to do
		perBucket := 0.3 + 0.7*r.Float64()
		for i := range n {
			k[i] = perBucket * float64(n) / weights[i] // equal loads at equal shares
		}
		f := newFarm(t, DefaultConfig(), weights, base, k)
		hops := make(map[hop]bool)
		for period := range 500 {
			for _, m := range f.step() {
				if period >= 300 {
					t.Fatalf("sim %d: period %d moved %+v, want settled", sim, period, m)
				}
				if hops[hop{m.Bucket, m.To, m.From}] {
					t.Fatalf("sim %d: period %d moved bucket %d back from %d to %d", sim, period, m.Bucket, m.From, m.To)
				}
				hops[hop{m.Bucket, m.From, m.To}] = true
				moved++
			}
		}
	}
	if moved == 0 {
		t.Fatal("no simulation moved a bucket")
	}
}

func TestPropertyConvergesAfterStep(t *testing.T) {
	cfg := DefaultConfig()
	const fair = Buckets / 4
	for _, tc := range []struct {
		name   string
		hog    float64 // node 0's base load while a CPU hog runs there
		below  int     // buckets node 0 must fall under
		within int     // periods it may take
	}{
		{"partial", 0.6, fair / 3, 20},
		{"hot even empty", 0.9, 1, 20},
	} {
		f := newFarm(t, cfg, []float64{1, 1, 1, 1}, []float64{.2, .2, .2, .2}, []float64{.8, .8, .8, .8})
		for period := range 30 {
			if moves := f.step(); len(moves) > 0 {
				t.Fatalf("%s: balanced period %d moved %v", tc.name, period, moves)
			}
		}
		f.base[0] = tc.hog
		fell := -1
		for period := range 60 {
			moves := f.step()
			if fell < 0 && f.count(0) < tc.below {
				fell = period
			}
			if period >= 40 && len(moves) > 0 {
				t.Fatalf("%s: hog period %d still moving: %v", tc.name, period, moves)
			}
		}
		if fell < 0 || fell > tc.within {
			t.Fatalf("%s: node 0 fell under %d buckets at period %d, want within %d", tc.name, tc.below, fell, tc.within)
		}
		// The hog goes away: node 0 waits out its cooldown, then regains
		// buckets a few at a time and settles toward its fair share.
		f.base[0] = 0.2
		wait := max(f.state.Cooldown(0)-1, 0)
		first := -1
		for period := range 150 {
			before := f.count(0)
			moves := f.step()
			gain := f.count(0) - before
			if gain < 0 || gain > cfg.MaxMoves {
				t.Fatalf("%s: period %d: node 0 gained %d", tc.name, period, gain)
			}
			if first < 0 && gain > 0 {
				first = period
			}
			if period >= 130 && len(moves) > 0 {
				t.Fatalf("%s: period %d still moving: %v", tc.name, period, moves)
			}
		}
		if first != wait {
			t.Errorf("%s: node 0 first regained buckets at period %d, want %d", tc.name, first, wait)
		}
		if got := f.count(0); got < fair/2 || got > fair {
			t.Errorf("%s: node 0 settled at %d buckets, want %d..%d", tc.name, got, fair/2, fair)
		}
	}
}
