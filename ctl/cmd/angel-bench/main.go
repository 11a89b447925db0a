// Command angel-bench measures Angel's single-kernel mode (ctl/reuseport)
// on one machine: a server of serial workers, one of them slowed, and a
// closed-loop client on loopback that opens a new connection for every
// request. For each mode (Angel, plain SO_REUSEPORT hashing, one shared
// listener), without and with the slow worker, it prints one line:
//
//	angel1 mode=angel skew=1 workers=8 clients=256 conn_rate=12345 p99_ms=3.2
//
// conn_rate counts the requests answered per second, p99_ms the 99th
// percentile of connect+request+reply time; then one line of ratios under
// skew: Angel over hashing, and Angel over Angel without the slow worker.
// It needs root, to load the sk_reuseport program. Built static
// (CGO_ENABLED=0), it runs on any box with a kernel of 5.14 or later.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/popcorn-kernel/popcorn/ctl/reuseport"
)

type config struct {
	workers  int
	clients  int
	slow     time.Duration
	duration time.Duration
}

// result is one run's figures.
type result struct {
	rate   float64 // answered requests per second
	p99    time.Duration
	errors int // failed requests (before the deadline)
}

func main() {
	var c config
	flag.IntVar(&c.workers, "workers", 8, "server workers, each serving one connection at a time")
	flag.IntVar(&c.clients, "clients", 256, "concurrent client connections")
	flag.DurationVar(&c.slow, "slow", 2*time.Millisecond, "extra time the slow worker takes per connection")
	flag.DurationVar(&c.duration, "duration", 5*time.Second, "length of each run")
	flag.Parse()
	if c.workers < 2 || c.clients < 1 || c.duration <= 0 || c.slow < 0 {
		fmt.Fprintln(os.Stderr, "angel-bench: want -workers >= 2, -clients >= 1, -duration > 0, -slow >= 0")
		os.Exit(2)
	}

	rates := map[reuseport.Mode][2]float64{}
	for _, mode := range []reuseport.Mode{reuseport.Angel, reuseport.Hash, reuseport.Shared} {
		var r [2]float64
		for skew := range 2 {
			res, err := run(c, mode, skew == 1)
			if err != nil {
				fmt.Fprintf(os.Stderr, "angel-bench: mode %s: %v\n", mode, err)
				os.Exit(1)
			}
			if res.errors > 0 {
				fmt.Fprintf(os.Stderr, "angel-bench: mode %s skew %d: %d requests failed\n", mode, skew, res.errors)
			}
			fmt.Printf("angel1 mode=%s skew=%d workers=%d clients=%d conn_rate=%.0f p99_ms=%.1f\n",
				mode, skew, c.workers, c.clients, res.rate, float64(res.p99)/float64(time.Millisecond))
			r[skew] = res.rate
		}
		rates[mode] = r
	}
	angel, hash := rates[reuseport.Angel], rates[reuseport.Hash]
	fmt.Printf("angel1 ratio_angel_over_reuseport=%.2f ratio_angel_over_unskewed=%.2f\n",
		angel[1]/hash[1], angel[1]/angel[0])
}

// run serves on a fresh group for c.duration under a closed-loop client.
func run(c config, mode reuseport.Mode, skew bool) (result, error) {
	g, err := reuseport.Listen(context.Background(), "tcp4", "127.0.0.1:0", c.workers,
		reuseport.Options{Mode: mode})
	if err != nil {
		return result{}, err
	}
	slowW := -1
	if skew {
		slowW = c.workers - 1
	}
	var servers sync.WaitGroup
	for i := range c.workers {
		ln := g.Listener(i)
		servers.Go(func() { serve(ln, i == slowW, c.slow) })
	}

	deadline := time.Now().Add(c.duration)
	lats := make([][]time.Duration, c.clients)
	var failed atomic.Int64
	var clients sync.WaitGroup
	start := time.Now()
	for k := range c.clients {
		clients.Go(func() {
			d := net.Dialer{Timeout: c.duration}
			for {
				t0 := time.Now()
				if !t0.Before(deadline) {
					return
				}
				err := request(&d, g.Addr(), deadline)
				t1 := time.Now()
				switch {
				case !t1.Before(deadline):
					return // cut off: neither a success nor a failure
				case err != nil:
					failed.Add(1)
				default:
					lats[k] = append(lats[k], t1.Sub(t0))
				}
			}
		})
	}
	clients.Wait()
	elapsed := min(time.Since(start), c.duration)
	report(g, mode, skew)
	g.Close()
	servers.Wait()

	all := slices.Concat(lats...)
	if len(all) == 0 {
		return result{}, errors.New("no request was answered")
	}
	slices.Sort(all)
	return result{
		rate:   float64(len(all)) / elapsed.Seconds(),
		p99:    all[(len(all)*99+99)/100-1],
		errors: int(failed.Load()),
	}, nil
}

// serve is one worker: it accepts a connection, reads the request, takes
// its time, answers and closes, then takes the next.
func serve(ln net.Listener, slow bool, delay time.Duration) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		var req [4]byte
		if _, err := io.ReadFull(c, req[:]); err == nil {
			if slow {
				time.Sleep(delay)
			}
			c.Write([]byte{'k'})
		}
		c.Close()
	}
}

func request(d *net.Dialer, addr net.Addr, deadline time.Time) error {
	c, err := d.Dial("tcp4", addr.String())
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(deadline)
	if _, err := c.Write([]byte("req\n")); err != nil {
		return err
	}
	var b [1]byte
	_, err = io.ReadFull(c, b[:])
	return err
}

// report notes on stderr where Angel left the table: how many buckets
// the slow worker kept, how many moved.
func report(g *reuseport.Group, mode reuseport.Mode, skew bool) {
	if mode != reuseport.Angel {
		return
	}
	st, err := g.Stats()
	if err != nil {
		fmt.Fprintf(os.Stderr, "angel-bench: %v\n", err)
		return
	}
	last := st.Workers[len(st.Workers)-1]
	fmt.Fprintf(os.Stderr, "# mode=angel skew=%d moves=%d last_worker_buckets=%d last_worker_accepts=%d last_worker_fallbacks=%d last_worker_skips=%d\n",
		map[bool]int{false: 0, true: 1}[skew], st.Moves, last.Buckets, last.Accepts, last.Fallbacks, last.Skips)
}
