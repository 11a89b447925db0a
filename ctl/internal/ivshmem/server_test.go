package ivshmem

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const testVectors = 3

func startServer(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	if cfg.SocketPath == "" {
		cfg.SocketPath = filepath.Join(t.TempDir(), "ivshmem.sock")
	}
	if cfg.ShmSize == 0 {
		cfg.ShmSize = 1 << 20
	}
	if cfg.Vectors == 0 {
		cfg.Vectors = testVectors
	}
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background()) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, cfg.SocketPath
}

func dial(t *testing.T, path string) *Client {
	t.Helper()
	c, err := Dial(path, testVectors)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitPeers reads notifications until c knows exactly the peers in want.
func waitPeers(t *testing.T, c *Client, want ...int64) {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.conn.SetReadDeadline(time.Time{})
	for {
		var have []int64
		complete := true
		for id, fds := range c.Peers {
			have = append(have, id)
			complete = complete && len(fds) == testVectors
		}
		slices.Sort(have)
		if complete && slices.Equal(have, want) {
			return
		}
		if err := c.Next(); err != nil {
			t.Fatalf("peer %d waiting for peers %v (have %v): %v", c.ID, want, have, err)
		}
	}
}

func waitRung(t *testing.T, c *Client, vector int) {
	t.Helper()
	var fds = []unix.PollFd{{Fd: int32(c.Peers[c.ID][vector]), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 5000)
	if err != nil || n != 1 {
		t.Fatalf("peer %d vector %d never rung: n=%d err=%v", c.ID, vector, n, err)
	}
	got, err := c.Rung(vector)
	if err != nil || got != 1 {
		t.Fatalf("peer %d vector %d: count %d err %v, want 1", c.ID, vector, got, err)
	}
}

func TestGreetingAndSharedMemory(t *testing.T) {
	_, path := startServer(t, Config{ShmSize: 2 << 20})
	a := dial(t, path)
	if a.ID != 0 {
		t.Fatalf("first peer id %d, want 0", a.ID)
	}
	var st unix.Stat_t
	if err := unix.Fstat(a.ShmFD, &st); err != nil || st.Size != 2<<20 {
		t.Fatalf("shared memory size %d (err %v), want %d", st.Size, err, 2<<20)
	}
	b := dial(t, path)
	if b.ID != 1 {
		t.Fatalf("second peer id %d, want 1", b.ID)
	}

	// Memory written by one peer is seen by the other.
	ma := mmap(t, a.ShmFD, 2<<20)
	mb := mmap(t, b.ShmFD, 2<<20)
	copy(ma[4096:], "popcorn")
	if string(mb[4096:4103]) != "popcorn" {
		t.Fatalf("peer 1 reads %q", mb[4096:4103])
	}
}

func mmap(t *testing.T, fd, size int) []byte {
	t.Helper()
	m, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	t.Cleanup(func() { unix.Munmap(m) })
	return m
}

func TestDoorbellsBetweenPeers(t *testing.T) {
	_, path := startServer(t, Config{})
	a, b := dial(t, path), dial(t, path)
	waitPeers(t, a, 0, 1)
	waitPeers(t, b, 0, 1)

	for v := range testVectors {
		if err := a.Ring(b.ID, v); err != nil {
			t.Fatal(err)
		}
		waitRung(t, b, v)
		if err := b.Ring(a.ID, v); err != nil {
			t.Fatal(err)
		}
		waitRung(t, a, v)
	}
	if got, _ := a.Rung(0); got != 0 {
		t.Fatalf("vector 0 rung %d more times than sent", got)
	}
}

func TestFourPeersRingEachOther(t *testing.T) {
	_, path := startServer(t, Config{})
	var cs []*Client
	for range 4 {
		cs = append(cs, dial(t, path))
	}
	for _, c := range cs {
		waitPeers(t, c, 0, 1, 2, 3)
	}
	for _, from := range cs {
		for _, to := range cs {
			if from == to {
				continue
			}
			if err := from.Ring(to.ID, int(from.ID)%testVectors); err != nil {
				t.Fatal(err)
			}
			waitRung(t, to, int(from.ID)%testVectors)
		}
	}
}

func TestReturningPeerTakesItsSeat(t *testing.T) {
	s, path := startServer(t, Config{})
	a, b := dial(t, path), dial(t, path)
	waitPeers(t, a, 0, 1)
	old := slices.Clone(a.Peers[1])
	b.Close()
	waitServerPeers(t, s, 0)

	// The reconnecting guest gets its id back, and a, told nothing, rings
	// it on the doorbells it had.
	b2 := dial(t, path)
	if b2.ID != 1 {
		t.Fatalf("reconnected peer id %d, want 1", b2.ID)
	}
	waitPeers(t, b2, 0, 1)
	if !slices.Equal(a.Peers[1], old) {
		t.Fatalf("peer 0 was told about peer 1 again: %v, had %v", a.Peers[1], old)
	}
	if err := a.Ring(1, 2); err != nil {
		t.Fatal(err)
	}
	waitRung(t, b2, 2)
	if err := b2.Ring(0, 1); err != nil {
		t.Fatal(err)
	}
	waitRung(t, a, 1)

	// A new guest takes the next id, and everyone hears of it.
	c := dial(t, path)
	if c.ID != 2 {
		t.Fatalf("third peer id %d, want 2", c.ID)
	}
	waitPeers(t, a, 0, 1, 2)
}

func waitServerPeers(t *testing.T, s *Server, want ...int64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		got := s.Peers()
		slices.Sort(got)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server peers %v, want %v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCloseRemovesSocketAndDisconnects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	s, err := NewServer(Config{SocketPath: path, ShmSize: 1 << 20, Vectors: 1,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background()) }()
	c, err := Dial(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("socket still there: %v", err)
	}
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := c.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("client read after server close: %v, want EOF", err)
	}
}

func TestNamedSharedMemory(t *testing.T) {
	name := "popcorn-test-" + filepath.Base(t.TempDir())
	t.Cleanup(func() { os.Remove("/dev/shm/" + name) })
	_, path := startServer(t, Config{ShmName: name, ShmSize: 1 << 16})
	c := dial(t, path)
	copy(mmap(t, c.ShmFD, 1<<16), "shared")
	b, err := os.ReadFile("/dev/shm/" + name)
	if err != nil || string(b[:6]) != "shared" {
		t.Fatalf("/dev/shm/%s: %q %v", name, b[:6], err)
	}
}

func TestBadConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no socket", Config{ShmSize: 1 << 20, Vectors: 1}},
		{"size not power of two", Config{SocketPath: dir + "/a", ShmSize: 3000, Vectors: 1}},
		{"zero vectors", Config{SocketPath: dir + "/b", ShmSize: 1 << 20}},
		{"too many vectors", Config{SocketPath: dir + "/c", ShmSize: 1 << 20, Vectors: MaxVectors + 1}},
	} {
		if _, err := NewServer(tc.cfg); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestRefusesLiveSocketReplacesStale(t *testing.T) {
	_, path := startServer(t, Config{})
	if _, err := NewServer(Config{SocketPath: path, ShmSize: 1 << 20, Vectors: 1}); err == nil {
		t.Fatal("second server took over a live socket")
	}

	stale := filepath.Join(t.TempDir(), "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	startServer(t, Config{SocketPath: stale})
}

func TestBrokenPeerDoesNotStopServer(t *testing.T) {
	_, path := startServer(t, Config{})
	// A peer that connects and hangs up at once must not disturb the others.
	for range 10 {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	a := dial(t, path)
	b := dial(t, path)
	ids := []int64{a.ID, b.ID}
	slices.Sort(ids)
	waitPeers(t, b, ids...)
}
