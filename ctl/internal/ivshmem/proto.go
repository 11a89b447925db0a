// Package ivshmem implements QEMU's ivshmem server protocol (version 0), as
// described in QEMU's docs/specs/ivshmem-spec.rst.
//
// Every message is one little-endian int64, sometimes with one file
// descriptor attached by SCM_RIGHTS. On connect the server sends, in order:
// the protocol version; the new peer's id; -1 with the shared-memory fd;
// for every other peer, its id once per vector with that vector's eventfd;
// then the new peer's own id once per vector with its own eventfds. Other
// peers then receive the new peer's id with its eventfds. When a peer
// leaves, the others receive its id with no fd.
package ivshmem

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// ProtocolVersion is the only version QEMU speaks.
const ProtocolVersion = 0

// MaxPeers bounds peer ids: QEMU's doorbell register carries a 16-bit id.
const MaxPeers = 1 << 16

// MaxVectors is QEMU's limit on MSI-X vectors for ivshmem.
const MaxVectors = 1024

func sendMsg(c *net.UnixConn, v int64, fd int) error {
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], uint64(v))
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	n, oobn, err := c.WriteMsgUnix(buf[:], oob, nil)
	if err != nil {
		return err
	}
	if n != len(buf) || oobn != len(oob) {
		return fmt.Errorf("short write: %d/%d bytes, %d/%d ancillary", n, len(buf), oobn, len(oob))
	}
	return nil
}

// recvMsg reads one message; fd is -1 when none was attached.
func recvMsg(c *net.UnixConn) (v int64, fd int, err error) {
	var buf [8]byte
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf[:], oob)
	if err != nil {
		return 0, -1, err
	}
	fd = -1
	if oobn > 0 {
		fds, err := parseRights(oob[:oobn])
		if err != nil {
			return 0, -1, err
		}
		for i, f := range fds {
			if i == 0 {
				fd = f
			} else {
				unix.Close(f)
			}
		}
	}
	if n != len(buf) {
		if fd >= 0 {
			unix.Close(fd)
		}
		return 0, -1, fmt.Errorf("short message: %d bytes", n)
	}
	return int64(binary.LittleEndian.Uint64(buf[:])), fd, nil
}

func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		f, err := unix.ParseUnixRights(&m)
		if err != nil {
			return nil, err
		}
		fds = append(fds, f...)
	}
	if len(fds) == 0 {
		return nil, errors.New("control message without file descriptors")
	}
	return fds, nil
}
