package ivshmem

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// Client is the peer side of the protocol, as QEMU's ivshmem-doorbell
// device speaks it. It serves tests and user-space peers of the window.
type Client struct {
	conn  *net.UnixConn
	ID    int64
	ShmFD int
	// Peers maps a peer id to its doorbell eventfds, one per vector; our
	// own id maps to the eventfds that become readable when we are rung.
	Peers map[int64][]int
}

// Dial connects to a server and reads the greeting up to our own doorbells.
func Dial(path string, vectors int) (*Client, error) {
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	c := &Client{conn: conn, ShmFD: -1, Peers: map[int64][]int{}}
	if err := c.handshake(vectors); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) handshake(vectors int) error {
	v, fd, err := recvMsg(c.conn)
	if err != nil {
		return fmt.Errorf("read version: %w", err)
	}
	closeFD(fd)
	if v != ProtocolVersion {
		return fmt.Errorf("protocol version %d, want %d", v, ProtocolVersion)
	}
	if c.ID, fd, err = recvMsg(c.conn); err != nil {
		return fmt.Errorf("read id: %w", err)
	}
	closeFD(fd)
	if c.ID < 0 || c.ID >= MaxPeers {
		return fmt.Errorf("peer id %d out of range", c.ID)
	}
	if v, c.ShmFD, err = recvMsg(c.conn); err != nil {
		return fmt.Errorf("read shared memory: %w", err)
	}
	if v != -1 || c.ShmFD < 0 {
		return fmt.Errorf("expected shared memory fd, got %d", v)
	}
	// Other peers' doorbells arrive first; ours complete the greeting.
	for len(c.Peers[c.ID]) < vectors {
		if err := c.Next(); err != nil {
			return err
		}
	}
	return nil
}

// Next reads one notification: a peer's doorbell, or a peer leaving.
func (c *Client) Next() error {
	id, fd, err := recvMsg(c.conn)
	if err != nil {
		return err
	}
	if id < 0 || id >= MaxPeers {
		closeFD(fd)
		return fmt.Errorf("peer id %d out of range", id)
	}
	if fd < 0 {
		for _, f := range c.Peers[id] {
			unix.Close(f)
		}
		delete(c.Peers, id)
		return nil
	}
	c.Peers[id] = append(c.Peers[id], fd)
	return nil
}

// Ring signals doorbell vector of peer id.
func (c *Client) Ring(id int64, vector int) error {
	fds := c.Peers[id]
	if vector < 0 || vector >= len(fds) {
		return fmt.Errorf("peer %d has no vector %d", id, vector)
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	_, err := unix.Write(fds[vector], one[:])
	return err
}

// Rung reports how many times our vector was rung since the last call.
func (c *Client) Rung(vector int) (uint64, error) {
	fds := c.Peers[c.ID]
	if vector < 0 || vector >= len(fds) {
		return 0, fmt.Errorf("no vector %d", vector)
	}
	var buf [8]byte
	_, err := unix.Read(fds[vector], buf[:])
	if errors.Is(err, unix.EAGAIN) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return binary.NativeEndian.Uint64(buf[:]), nil
}

// Close hangs up and releases every descriptor received.
func (c *Client) Close() error {
	for _, fds := range c.Peers {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	c.Peers = nil
	closeFD(c.ShmFD)
	return c.conn.Close()
}

func closeFD(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}
