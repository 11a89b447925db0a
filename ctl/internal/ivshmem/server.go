package ivshmem

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Config describes the shared memory and doorbells a server hands out.
type Config struct {
	SocketPath string
	// ShmName names a POSIX shared-memory object (/dev/shm/<name>) so
	// other processes can map the same memory; empty means an anonymous
	// memfd that lives as long as the server and its peers.
	ShmName string
	ShmSize int64
	Vectors int
	Log     *slog.Logger
}

func (c *Config) validate() error {
	if c.SocketPath == "" {
		return errors.New("socket path is empty")
	}
	if c.ShmSize <= 0 || c.ShmSize&(c.ShmSize-1) != 0 {
		// QEMU maps BAR2 with the size of the object; PCI BARs are powers of two.
		return fmt.Errorf("shared memory size %d is not a power of two", c.ShmSize)
	}
	if c.Vectors < 1 || c.Vectors > MaxVectors {
		return fmt.Errorf("vectors %d out of range 1..%d", c.Vectors, MaxVectors)
	}
	return nil
}

type peer struct {
	id       int64
	conn     *net.UnixConn
	eventfds []int
}

func (p *peer) close() {
	p.conn.Close()
	for _, fd := range p.eventfds {
		unix.Close(fd)
	}
}

// Server hands out one shared-memory region and per-peer doorbell eventfds.
type Server struct {
	cfg   Config
	log   *slog.Logger
	shmFD int
	ln    *net.UnixListener

	mu    sync.Mutex
	peers map[int64]*peer
	// seats holds the doorbells of ids whose guest left, for the next
	// guest that takes the id (see leave).
	seats map[int64][]int
	wg    sync.WaitGroup
}

// NewServer creates the shared memory and starts listening on the socket.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	fd, err := createShm(cfg.ShmName, cfg.ShmSize)
	if err != nil {
		return nil, err
	}
	if err := removeStaleSocket(cfg.SocketPath); err != nil {
		unix.Close(fd)
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: cfg.SocketPath, Net: "unix"})
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	log.Info("listening", "socket", cfg.SocketPath, "shm", shmLabel(cfg.ShmName),
		"size", cfg.ShmSize, "vectors", cfg.Vectors)
	return &Server{cfg: cfg, log: log, shmFD: fd, ln: ln, peers: map[int64]*peer{},
		seats: map[int64][]int{}}, nil
}

func shmLabel(name string) string {
	if name == "" {
		return "memfd"
	}
	return "/dev/shm/" + name
}

func createShm(name string, size int64) (int, error) {
	var fd int
	var err error
	if name == "" {
		fd, err = unix.MemfdCreate("ivshmem", unix.MFD_CLOEXEC)
	} else {
		fd, err = unix.Open("/dev/shm/"+name, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	}
	if err != nil {
		return -1, fmt.Errorf("create shared memory %s: %w", shmLabel(name), err)
	}
	if err := unix.Ftruncate(fd, size); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("size shared memory to %d: %w", size, err)
	}
	return fd, nil
}

// removeStaleSocket removes a socket left by a server that died, but never
// one a live server still answers on, nor a file that is not a socket.
func removeStaleSocket(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket", path)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return fmt.Errorf("%s: another server is listening", path)
	}
	return os.Remove(path)
}

// Serve accepts peers until ctx is done or Close is called.
func (s *Server) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.ln.Close() })
	defer stop()
	for {
		conn, err := s.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if err := s.join(conn); err != nil {
			s.log.Warn("peer rejected", "err", err)
			conn.Close()
		}
	}
}

// join sets a new peer up, then watches its connection for the hang-up.
func (s *Server) join(conn *net.UnixConn) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	p, returning, err := s.seat(conn)
	if err != nil {
		return err
	}
	if err := s.greet(p); err != nil {
		if returning {
			s.seats[p.id] = p.eventfds
			p.eventfds = nil
		}
		p.close()
		return fmt.Errorf("peer %d: %w", p.id, err)
	}
	// The others still hold a returning id's doorbells.
	for _, other := range s.peers {
		if returning {
			break
		}
		if err := announce(other.conn, p); err != nil {
			s.log.Warn("cannot announce peer", "peer", p.id, "to", other.id, "err", err)
		}
	}
	s.peers[p.id] = p
	s.log.Info("peer joined", "peer", p.id, "peers", len(s.peers), "returning", returning)

	s.wg.Add(1)
	go s.watch(p)
	return nil
}

// seat gives a new connection the lowest id free for it, with its
// doorbells: those of a guest that left, if any, so a guest that
// reconnects gets its old id back when nobody took it; else new ones.
func (s *Server) seat(conn *net.UnixConn) (*peer, bool, error) {
	for id := int64(0); id < MaxPeers; id++ {
		if fds, ok := s.seats[id]; ok {
			delete(s.seats, id)
			return &peer{id: id, conn: conn, eventfds: fds}, true, nil
		}
	}
	for id := int64(0); id < MaxPeers; id++ {
		if _, used := s.peers[id]; used {
			continue
		}
		p := &peer{id: id, conn: conn}
		for range s.cfg.Vectors {
			fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
			if err != nil {
				p.close()
				return nil, false, fmt.Errorf("eventfd: %w", err)
			}
			p.eventfds = append(p.eventfds, fd)
		}
		return p, false, nil
	}
	return nil, false, errors.New("too many peers")
}

func (s *Server) greet(p *peer) error {
	if err := sendMsg(p.conn, ProtocolVersion, -1); err != nil {
		return err
	}
	if err := sendMsg(p.conn, p.id, -1); err != nil {
		return err
	}
	if err := sendMsg(p.conn, -1, s.shmFD); err != nil {
		return err
	}
	for _, other := range s.peers {
		if err := announce(p.conn, other); err != nil {
			return err
		}
	}
	return announce(p.conn, p)
}

// announce tells the peer on c about p's doorbells.
func announce(c *net.UnixConn, p *peer) error {
	for _, fd := range p.eventfds {
		if err := sendMsg(c, p.id, fd); err != nil {
			return err
		}
	}
	return nil
}

// watch waits for the peer to hang up; peers never send anything.
func (s *Server) watch(p *peer) {
	defer s.wg.Done()
	var buf [64]byte
	for {
		if _, err := p.conn.Read(buf[:]); err != nil {
			break
		}
	}
	s.leave(p)
}

// leave keeps a departed guest's doorbells for the next guest with its id
// and tells nobody. QEMU (7.2) frees a peer's doorbell array when told
// the peer left and writes into the freed array when a peer of that id
// connects again: a guest rebooted with its old id would corrupt every
// other QEMU's heap. Kept, the doorbells stay valid in every QEMU; one
// rung meanwhile waits in its eventfd.
func (s *Server) leave(p *peer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.peers[p.id] != p {
		return
	}
	delete(s.peers, p.id)
	s.seats[p.id] = p.eventfds
	p.eventfds = nil
	p.close()
	s.log.Info("peer left", "peer", p.id, "peers", len(s.peers))
}

// Peers returns the ids of the connected peers.
func (s *Server) Peers() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int64, 0, len(s.peers))
	for id := range s.peers {
		ids = append(ids, id)
	}
	return ids
}

// Close disconnects every peer, removes the socket and frees the memory.
// A named shared-memory object stays, so peers' memory survives a restart.
func (s *Server) Close() error {
	err := s.ln.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	s.mu.Lock()
	for _, p := range s.peers {
		p.conn.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	for _, fds := range s.seats {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	if rmErr := os.Remove(s.cfg.SocketPath); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) && err == nil {
		err = rmErr
	}
	unix.Close(s.shmFD)
	return err
}
