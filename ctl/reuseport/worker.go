package reuseport

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// worker is worker i's net.Listener. It measures the worker's load as it
// goes: the time the worker spends outside Accept is time it is busy, and
// each accept takes a connection off the queue it publishes to the program.
type worker struct {
	g  *Group
	i  int
	ln *net.TCPListener // its own socket; nil in Shared mode
	rc syscall.RawConn  // ln's, for TCP_INFO
	// queue is its slot in the program's load array; nil in Shared mode.
	queue *atomic.Int32

	closed  atomic.Bool
	accepts atomic.Uint64

	mu        sync.Mutex
	busySince time.Time     // when Accept last returned a connection; zero inside Accept
	busy      time.Duration // busy time before busySince
	// The policy loop's: what the last period's sample saw, and the
	// averaged load.
	lastAt   time.Time
	lastBusy time.Duration
	lastSkip uint64
	avgQueue float64
	avgBusy  float64

	// Shared mode: held while the worker is in Accept, so that Close can
	// wait for it to leave.
	inAccept sync.Mutex
}

// Accept waits for the worker's next connection.
func (w *worker) Accept() (net.Conn, error) {
	w.mu.Lock()
	if !w.busySince.IsZero() {
		w.busy += time.Since(w.busySince)
		w.busySince = time.Time{}
	}
	w.mu.Unlock()

	var c net.Conn
	var err error
	if w.ln != nil {
		c, err = w.ln.Accept()
	} else {
		c, err = w.acceptShared()
	}
	if err != nil {
		return nil, err
	}
	w.accepts.Add(1)
	if w.queue != nil {
		w.queue.Add(-1)
	}
	w.mu.Lock()
	w.busySince = time.Now()
	w.mu.Unlock()
	return c, nil
}

// acceptShared accepts from the one listener that all workers share. A
// worker that closes its Listener makes every Accept give up for a moment
// (closeShared); the others come back once it has left.
func (w *worker) acceptShared() (net.Conn, error) {
	w.inAccept.Lock()
	defer w.inAccept.Unlock()
	for {
		if w.closed.Load() {
			return nil, w.closedErr()
		}
		c, err := w.g.shared.Accept()
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			return c, err
		}
		if w.closed.Load() {
			return nil, w.closedErr()
		}
		w.g.kick.RLock()
		w.g.kick.RUnlock()
	}
}

func (w *worker) closedErr() error {
	return &net.OpError{Op: "accept", Net: w.g.network, Addr: w.g.addr, Err: net.ErrClosed}
}

// Close stops the worker: in Angel mode its buckets go to the others at
// once, and the connections waiting in its accept queue move to the other
// workers' queues (the program is also the group's migration program).
func (w *worker) Close() error {
	if !w.closed.CompareAndSwap(false, true) {
		return &net.OpError{Op: "close", Net: w.g.network, Addr: w.g.addr, Err: net.ErrClosed}
	}
	if w.ln == nil {
		return w.g.closeShared(w)
	}
	if w.g.mode == Angel {
		w.g.step()
	}
	return w.ln.Close()
}

// Addr is the group's address.
func (w *worker) Addr() net.Addr { return w.g.addr }

// acceptQueue is the depth of the socket's accept queue, as the kernel
// counts it: for a listener, TCP_INFO's tcpi_unacked.
func (w *worker) acceptQueue() (uint32, error) {
	var info *unix.TCPInfo
	var err error
	cerr := w.rc.Control(func(fd uintptr) {
		info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	})
	if err = errors.Join(cerr, err); err != nil {
		return 0, err
	}
	return info.Unacked, nil
}

// busyFor returns the worker's busy time up to now.
func (w *worker) busyFor(now time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.busy
	if !w.busySince.IsZero() {
		b += now.Sub(w.busySince)
	}
	return b
}
