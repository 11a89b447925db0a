package reuseport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// needRoot skips a test that loads BPF programs when it cannot.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to load the sk_reuseport program")
	}
}

func listen(t *testing.T, workers int, opts Options) *Group {
	t.Helper()
	g, err := Listen(context.Background(), "tcp4", "127.0.0.1:0", workers, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Error(err)
		}
	})
	return g
}

// serve runs each worker as a loop that accepts a connection and serves
// it: it reads the request, waits slow[i], answers its own index and
// closes. Worker i starts once hold[i], if any, is closed. It returns a
// function that waits for every loop to end.
func serve(t *testing.T, g *Group, slow map[int]time.Duration, hold map[int]chan struct{}) (wait func()) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range g.Workers() {
		ln := g.Listener(i)
		wg.Go(func() {
			if hold[i] != nil {
				<-hold[i]
			}
			for {
				c, err := ln.Accept()
				if err != nil {
					if !errors.Is(err, net.ErrClosed) {
						t.Errorf("worker %d: %v", i, err)
					}
					return
				}
				var req [3]byte
				if _, err := io.ReadFull(c, req[:]); err == nil {
					time.Sleep(slow[i])
					c.Write([]byte{byte(i)})
				}
				c.Close()
			}
		})
	}
	t.Cleanup(func() {
		g.Close()
		wg.Wait()
	})
	return wg.Wait
}

// load opens n connections, conc at a time, each connecting, sending a
// request, reading the reply and closing; every finished connection's
// worker goes to served in the order they finish. after, if not nil, runs
// once done connections have finished.
type load struct {
	n, conc int
	done    int
	after   func()
}

func (l load) run(t *testing.T, addr net.Addr) (served []int) {
	t.Helper()
	var (
		mu     sync.Mutex
		next   atomic.Int64
		failed []error
		once   sync.Once
		wg     sync.WaitGroup
	)
	d := net.Dialer{Timeout: 10 * time.Second}
	for range l.conc {
		wg.Go(func() {
			for next.Add(1) <= int64(l.n) {
				w, err := request(&d, addr)
				mu.Lock()
				if err != nil {
					failed = append(failed, err)
				} else {
					served = append(served, w)
				}
				n := len(served) + len(failed)
				mu.Unlock()
				if l.after != nil && n == l.done {
					once.Do(l.after)
				}
			}
		})
	}
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("%d of %d connections failed, the first: %v", len(failed), l.n, failed[0])
	}
	return served
}

func request(d *net.Dialer, addr net.Addr) (int, error) {
	c, err := d.Dial("tcp", addr.String())
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("hi\n")); err != nil {
		return 0, err
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return 0, fmt.Errorf("reading the reply: %w", err)
	}
	return int(b[0]), nil
}

// count is how many of served each worker served.
func count(served []int, workers int) []int {
	n := make([]int, workers)
	for _, w := range served {
		n[w]++
	}
	return n
}

func buckets(table []uint32, workers int) []int {
	n := make([]int, workers)
	for _, w := range table {
		n[w]++
	}
	return n
}

func stats(t *testing.T, g *Group) Stats {
	t.Helper()
	st, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Err != nil {
		t.Errorf("the policy loop met an error: %v", st.Err)
	}
	return st
}

func TestAngelMovesOffSlowWorker(t *testing.T) {
	needRoot(t)
	const workers, slowW, share = 4, 3, Buckets / 4
	g := listen(t, workers, Options{})
	serve(t, g, map[int]time.Duration{slowW: 5 * time.Millisecond}, nil)

	// Rounds of connections until the slow worker is down to an eighth
	// of its share of buckets, 10000 connections at most.
	var left int
	for n := 0; n < 10000; n += 500 {
		load{n: 500, conc: 32}.run(t, g.Addr())
		if left = buckets(g.Table(), workers)[slowW]; left <= share/8 {
			break
		}
	}
	if left > share/8 {
		t.Fatalf("the slow worker kept %d of its %d buckets (table %v)",
			left, share, buckets(g.Table(), workers))
	}
	served := load{n: 1000, conc: 32}.run(t, g.Addr())
	st := stats(t, g)
	t.Logf("buckets %v, served %v, moves %d", buckets(g.Table(), workers),
		count(served, workers), st.Moves)
	for i, w := range st.Workers {
		t.Logf("worker %d: picks %d fallbacks %d skips %d accepts %d",
			i, w.Picks, w.Fallbacks, w.Skips, w.Accepts)
	}
	if n := count(served, workers)[slowW]; n > len(served)/workers/4 {
		t.Errorf("the slow worker then served %d of %d connections, want under a quarter of its share",
			n, len(served))
	}
	for _, w := range st.Workers[:slowW] {
		if w.Fallbacks == 0 {
			t.Error("a fast worker took none of the slow worker's connections while it was behind")
		}
	}
}

func TestAngelLeavesBalancedAlone(t *testing.T) {
	needRoot(t)
	const workers = 4
	g := listen(t, workers, Options{})
	before := g.Table()
	serve(t, g, nil, nil)
	served := load{n: 2000, conc: 32}.run(t, g.Addr())
	// A few more periods with the connections gone.
	time.Sleep(5 * g.period)

	st := stats(t, g)
	if st.Moves != 0 {
		t.Errorf("the policy moved %d buckets between balanced workers (buckets now %v)",
			st.Moves, buckets(g.Table(), workers))
	}
	if got := g.Table(); !equal(got, before) {
		t.Error("the table changed")
	}
	for i, n := range count(served, workers) {
		if n < len(served)/workers/2 {
			t.Errorf("worker %d served %d of %d connections", i, n, len(served))
		}
	}
	for i := range st.Workers {
		// Once idle, the published queue is the kernel's: empty.
		if q := g.dp.queue(i).Load(); q != 0 {
			t.Errorf("worker %d: published queue %d with no connection waiting", i, q)
		}
	}
}

func equal(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A worker that stops accepting and then closes its listener: its buckets
// go to the others at once, and the connections waiting in its accept
// queue move to theirs rather than being reset.
func TestAngelWorkerGone(t *testing.T) {
	needRoot(t)
	const workers, gone = 4, 2
	g := listen(t, workers, Options{})
	hold := make(chan struct{})
	serve(t, g, nil, map[int]chan struct{}{gone: hold})
	closed := false
	served := load{n: 1500, conc: 32, done: 300, after: func() {
		if err := g.Listener(gone).Close(); err != nil {
			t.Error(err)
		}
		if n := buckets(g.Table(), workers)[gone]; n != 0 {
			t.Errorf("the closed worker still has %d buckets", n)
		}
		closed = true
		close(hold)
	}}.run(t, g.Addr())

	// All 1500 connections were answered (run fails otherwise), those that
	// waited in the closed worker's queue included.
	if !closed {
		t.Fatal("the worker was never closed")
	}
	if _, err := g.Listener(gone).Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept on a closed worker: %v, want net.ErrClosed", err)
	}
	if err := g.Listener(gone).Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("closing a worker twice: %v, want net.ErrClosed", err)
	}
	st := stats(t, g)
	t.Logf("served %v, migrated %d, picks of the closed worker %d",
		count(served, workers), st.Migrated, st.Workers[gone].Picks)
	if st.Workers[gone].Up || st.Workers[gone].Accepts != 0 {
		t.Errorf("the closed worker: up %v, accepted %d", st.Workers[gone].Up, st.Workers[gone].Accepts)
	}
	if st.Workers[gone].Picks == 0 || st.Migrated == 0 {
		t.Errorf("the program gave the held worker %d connections and migrated %d, want some of both",
			st.Workers[gone].Picks, st.Migrated)
	}
}

func TestModes(t *testing.T) {
	needRoot(t)
	const workers, n = 4, 400
	for _, mode := range []Mode{Hash, Shared} {
		t.Run(mode.String(), func(t *testing.T) {
			g := listen(t, workers, Options{Mode: mode})
			before := g.Table()
			serve(t, g, nil, nil)
			served := load{n: n, conc: 16}.run(t, g.Addr())
			st := stats(t, g)
			total := uint64(0)
			for _, w := range st.Workers {
				total += w.Accepts
			}
			if total != n {
				t.Errorf("the workers accepted %d connections, want %d", total, n)
			}
			switch mode {
			case Hash:
				if !equal(g.Table(), before) || st.Moves != 0 {
					t.Error("the hash table changed")
				}
				for i, c := range count(served, workers) {
					if c < n/workers/2 {
						t.Errorf("worker %d served %d of %d connections", i, c, n)
					}
					// A stray connection of another process may add a pick.
					if w := st.Workers[i]; w.Picks < w.Accepts || w.Fallbacks != 0 {
						t.Errorf("worker %d: the program picked it %d times (%d for another's bucket), it accepted %d",
							i, w.Picks, w.Fallbacks, w.Accepts)
					}
				}
				if st.Unsteered != 0 {
					t.Errorf("%d connections went unsteered", st.Unsteered)
				}
			case Shared:
				if g.Table() != nil {
					t.Error("a Shared group has a table")
				}
			}
		})
	}
}

// The program steers IPv6 connections as it does IPv4 ones.
func TestAngelIPv6(t *testing.T) {
	needRoot(t)
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	ln.Close()
	g, err := Listen(context.Background(), "tcp6", "[::1]:0", 2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, g, nil, nil)
	load{n: 100, conc: 4}.run(t, g.Addr())
	st := stats(t, g)
	if picks := st.Workers[0].Picks + st.Workers[1].Picks; picks < 100 || st.Unsteered != 0 {
		t.Errorf("the program picked %d of 100 connections, left %d unsteered", picks, st.Unsteered)
	}
}

// In Shared mode a worker's Close wakes its Accept; the others serve on.
func TestSharedWorkerGone(t *testing.T) {
	const workers = 3
	g := listen(t, workers, Options{Mode: Shared})
	wait := serve(t, g, nil, nil)
	load{n: 50, conc: 4}.run(t, g.Addr())
	if err := g.Listener(0).Close(); err != nil {
		t.Fatal(err)
	}
	served := load{n: 100, conc: 4}.run(t, g.Addr())
	if n := count(served, workers)[0]; n != 0 {
		t.Errorf("the closed worker served %d connections", n)
	}
	g.Close()
	wait()
}

func TestListenRejects(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		network, addr string
		workers       int
		opts          Options
		want          string
	}{
		{"tcp", "127.0.0.1:0", 0, Options{}, "0 workers"},
		{"tcp", "127.0.0.1:0", 65, Options{}, "65 workers"},
		{"udp", "127.0.0.1:0", 2, Options{}, `network "udp"`},
		{"tcp", "127.0.0.1", 2, Options{Mode: Shared}, "missing port"},
		{"tcp", "127.0.0.1:99999", 2, Options{Mode: Shared}, "invalid port"},
		{"tcp", "127.0.0.1:0", 2, Options{Mode: Mode(7)}, "unknown mode 7"},
		{"tcp", "127.0.0.1:0", 2, Options{Period: -time.Second}, "period -1s"},
		{"tcp", "127.0.0.1:0", 2, Options{Policy: Policy{Threshold: -1, QueueScale: 1}}, "Threshold -1"},
	} {
		g, err := Listen(ctx, c.network, c.addr, c.workers, c.opts)
		if err == nil {
			g.Close()
			t.Errorf("Listen(%q, %q, %d, %+v) succeeded", c.network, c.addr, c.workers, c.opts)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Listen(%q, %q, %d): %v, want an error naming %q", c.network, c.addr, c.workers, err, c.want)
		}
	}
}

// A port that a socket without SO_REUSEPORT holds cannot take a group,
// and that socket keeps it.
func TestListenPortTaken(t *testing.T) {
	needRoot(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if g, err := Listen(context.Background(), "tcp4", ln.Addr().String(), 2, Options{}); err == nil {
		g.Close()
		t.Fatal("a group listened on a port that is taken")
	} else if !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("got %v, want address already in use", err)
	}
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatalf("the first listener lost its port: %v", err)
	}
	c.Close()
}
