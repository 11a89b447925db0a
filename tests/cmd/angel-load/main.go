// Command angel-load is the server and the client of Angel's guest test.
//
//	angel-load serve -addr ADDR -id N
//
// answers every line a connection sends with "N\n", for as long as the
// connection lives, so a client knows which kernel serves it.
//
//	angel-load client -addr ADDR -conns C [-parallel P]
//
// opens C new connections, P at a time, each for one line, and prints
// how many each kernel answered: "served 0:210 1:190 2:200 errors 0".
//
//	angel-load hold -addr ADDR -conns C -release FILE
//
// opens C connections and asks each once, prints who answered, waits for
// FILE to exist, then asks each again: a connection answered by another
// kernel the second time, or not at all, is counted as broken.
//
//	angel-load bench -url URL -clients C -duration D [-warmup W] [-label L]
//
// is a closed-loop HTTP client for make bench-angel: C clients each make
// one request per new connection for W+D; of the requests begun in the
// last D it prints "L conn_rate=.. p99_ms=.." and the kernels that
// answered (a body of "served by guest N"). A request still under way
// when the window ends counts in the p99 with the time it has waited, not
// in the rate.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

const timeout = 10 * time.Second

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: angel-load serve|client|hold [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	addr := fs.String("addr", "10.99.0.100:80", "the service")
	id := fs.String("id", "", "serve: what to answer")
	conns := fs.Int("conns", 100, "client, hold: connections")
	parallel := fs.Int("parallel", 8, "client: connections at a time")
	release := fs.String("release", "", "hold: ask again once this file exists")
	url := fs.String("url", "http://10.99.0.100/", "bench: what to get")
	clients := fs.Int("clients", 32, "bench: concurrent clients")
	duration := fs.Duration("duration", 10*time.Second, "bench: how long to measure")
	warmup := fs.Duration("warmup", 2*time.Second, "bench: how long to run before measuring")
	label := fs.String("label", "angel", "bench: the line's beginning")
	fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(*addr, *id)
	case "client":
		err = client(*addr, *conns, *parallel)
	case "hold":
		err = hold(*addr, *conns, *release)
	case "bench":
		err = bench(*url, *clients, *warmup, *duration, *label)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "angel-load:", err)
		os.Exit(1)
	}
}

func serve(addr, id string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				if _, err := r.ReadString('\n'); err != nil {
					return
				}
				if _, err := fmt.Fprintln(c, id); err != nil {
					return
				}
			}
		}()
	}
}

// ask sends one line and returns the answer.
func ask(c net.Conn, r *bufio.Reader) (string, error) {
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := fmt.Fprintln(c, "who"); err != nil {
		return "", err
	}
	s, err := r.ReadString('\n')
	return strings.TrimSpace(s), err
}

func once(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return ask(c, bufio.NewReader(c))
}

// tally counts answers by kernel, safe for concurrent use.
type tally struct {
	mu     sync.Mutex
	by     map[string]int
	errors int
	first  error // the first error, to say what went wrong
}

func (t *tally) add(who string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.errors++
		if t.first == nil {
			t.first = err
		}
		return
	}
	t.by[who]++
}

func (t *tally) String() string {
	var ids []string
	for id := range t.by {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var b strings.Builder
	b.WriteString("served")
	for _, id := range ids {
		fmt.Fprintf(&b, " %s:%d", id, t.by[id])
	}
	fmt.Fprintf(&b, " errors %d", t.errors)
	if t.first != nil {
		fmt.Fprintf(&b, " (first: %v)", t.first)
	}
	return b.String()
}

func client(addr string, conns, parallel int) error {
	t := &tally{by: map[string]int{}}
	work := make(chan struct{})
	var wg sync.WaitGroup
	for range max(parallel, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				t.add(once(addr))
			}
		}()
	}
	for range conns {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	fmt.Println(t)
	return nil
}

type held struct {
	c     net.Conn
	r     *bufio.Reader
	first string
}

func hold(addr string, conns int, release string) error {
	var hs []held
	first := &tally{by: map[string]int{}}
	for range conns {
		c, err := net.DialTimeout("tcp", addr, timeout)
		if err != nil {
			first.add("", err)
			continue
		}
		defer c.Close()
		h := held{c: c, r: bufio.NewReader(c)}
		h.first, err = ask(c, h.r)
		first.add(h.first, err)
		if err == nil {
			hs = append(hs, h)
		}
	}
	fmt.Println("first", first)
	for {
		if _, err := os.Stat(release); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	again := &tally{by: map[string]int{}}
	broken := conns - len(hs)
	for _, h := range hs {
		who, err := ask(h.c, h.r)
		again.add(who, err)
		if err != nil || who != h.first {
			broken++
		}
	}
	fmt.Println("again", again)
	fmt.Printf("broken %d of %d\n", broken, conns)
	return nil
}

// sample is one request: when it began, how long it took, who answered.
type sample struct {
	start    time.Time
	d        time.Duration
	who      string
	err      error
	censored bool // still under way when the window closed
}

// get makes one request on a connection of its own.
func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s", resp.Status)
	}
	return strings.TrimPrefix(strings.TrimSpace(string(b)), "served by guest "), nil
}

func bench(url string, clients int, warmup, duration time.Duration, label string) error {
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	from, until := start.Add(warmup), start.Add(warmup+duration)
	samples := make(chan sample, 1024)
	var wg sync.WaitGroup
	for range max(clients, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := time.Now(); t.Before(until); t = time.Now() {
				who, err := get(c, url)
				s := sample{start: t, d: time.Since(t), who: who, err: err}
				// A request still waiting when the window closes
				// counts as that long, so slow ones are not lost.
				if t.Add(s.d).After(until) {
					s = sample{start: t, d: until.Sub(t), censored: true}
				}
				samples <- s
			}
		}()
	}
	go func() { wg.Wait(); close(samples) }()
	t := &tally{by: map[string]int{}}
	var lat []time.Duration
	done := 0
	for s := range samples {
		if s.start.Before(from) {
			continue
		}
		if !s.censored {
			t.add(s.who, s.err)
		}
		if s.err == nil {
			lat = append(lat, s.d)
			done += b2i(!s.censored)
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p99 := 0.0
	if len(lat) > 0 {
		p99 = float64(lat[len(lat)*99/100].Microseconds()) / 1000
	}
	fmt.Printf("%s conn_rate=%.1f p99_ms=%.1f clients=%d %s\n", label,
		float64(done)/duration.Seconds(), p99, clients, t)
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
