// Command pcn-stranger speaks to popcorn_tcp's port as a stranger or a
// broken peer would, for the tcp guest suite. Each subcommand exits 0 when
// the kernel did what it must: closed the connection, or answered as the
// protocol says.
//
//	pcn-stranger garbage -addr ADDR
//
// sends bytes that are no hello; the kernel must close the connection.
//
//	pcn-stranger slow -addr ADDR
//
// sends half a hello and waits; the kernel must close within 8 s (its
// deadline is 3 s).
//
//	pcn-stranger hello -addr ADDR -from N -to M [-version V] -want ERRNO
//
// sends a hello and wants an answer with status ERRNO, then the close.
//
//	pcn-stranger flood -addr ADDR -n N
//
// holds N connections that say nothing for 2 s.
//
//	pcn-stranger peer -listen ADDR -as N -to M -frames KIND,...
//
// acts as node N's listener: for each KIND it accepts node M's
// connection, answers its hello, then sends a bad frame: "huge" (a length
// over the largest record), "zero" (a length of 0), "short" (half a frame,
// then the close) or "junk" (a frame of random bytes, which the core drops
// and counts while the session lives on).
package main

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

const (
	magic     = 0x54434e50 // "PCNT"
	version   = 1
	fAnswer   = 0x1
	helloLen  = 24
	maxRecord = 64 * 1024
)

type hello struct {
	Magic   uint32
	Version uint16
	Flags   uint16
	From    uint32
	To      uint32
	Status  uint32
	_       uint32
}

func (h hello) bytes() []byte {
	b := make([]byte, helloLen)
	binary.LittleEndian.PutUint32(b[0:], h.Magic)
	binary.LittleEndian.PutUint16(b[4:], h.Version)
	binary.LittleEndian.PutUint16(b[6:], h.Flags)
	binary.LittleEndian.PutUint32(b[8:], h.From)
	binary.LittleEndian.PutUint32(b[12:], h.To)
	binary.LittleEndian.PutUint32(b[16:], h.Status)
	return b
}

func readHello(c net.Conn) (hello, error) {
	b := make([]byte, helloLen)
	if _, err := io.ReadFull(c, b); err != nil {
		return hello{}, err
	}
	return hello{
		Magic:   binary.LittleEndian.Uint32(b[0:]),
		Version: binary.LittleEndian.Uint16(b[4:]),
		Flags:   binary.LittleEndian.Uint16(b[6:]),
		From:    binary.LittleEndian.Uint32(b[8:]),
		To:      binary.LittleEndian.Uint32(b[12:]),
		Status:  binary.LittleEndian.Uint32(b[16:]),
	}, nil
}

// closedWithin reports whether the other side closes c within d, reading
// and discarding whatever it sends first.
func closedWithin(c net.Conn, d time.Duration) error {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("still open after %v", d)
	}
	return nil
}

func dial(addr string) (net.Conn, error) {
	return net.DialTimeout("tcp", addr, 3*time.Second)
}

func garbage(addr string) error {
	c, err := dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	junk := make([]byte, 4096)
	rand.Read(junk)
	c.Write(junk)
	return closedWithin(c, 8*time.Second)
}

func slow(addr string) error {
	c, err := dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	h := hello{Magic: magic, Version: version, From: 1}.bytes()
	if _, err := c.Write(h[:helloLen/2]); err != nil {
		return err
	}
	return closedWithin(c, 8*time.Second)
}

func sayHello(addr string, from, to, ver uint, want uint32) error {
	c, err := dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write(hello{Magic: magic, Version: uint16(ver), From: uint32(from), To: uint32(to)}.bytes()); err != nil {
		return err
	}
	a, err := readHello(c)
	if err != nil {
		return fmt.Errorf("no answer: %w", err)
	}
	fmt.Printf("# answer: version %d flags %#x from %d to %d status %d\n", a.Version, a.Flags, a.From, a.To, a.Status)
	if a.Magic != magic || a.Flags&fAnswer == 0 || a.Status != want {
		return fmt.Errorf("answer status %d, want %d", a.Status, want)
	}
	if want != 0 {
		return closedWithin(c, 8*time.Second)
	}
	return nil
}

func flood(addr string, n int) error {
	var conns []net.Conn
	for range n {
		c, err := dial(addr)
		if err != nil {
			break
		}
		conns = append(conns, c)
	}
	fmt.Printf("# %d of %d connections open\n", len(conns), n)
	time.Sleep(2 * time.Second)
	closed := 0
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if closedWithin(c, 8*time.Second) == nil {
				mu.Lock()
				closed++
				mu.Unlock()
			}
			c.Close()
		}()
	}
	wg.Wait()
	if closed != len(conns) {
		return fmt.Errorf("%d of %d silent connections left open", len(conns)-closed, len(conns))
	}
	return nil
}

// badFrame is what peer sends after the hellos; true if the session must
// live on after it.
func badFrame(c net.Conn, kind string) (bool, error) {
	frame := func(n uint32) []byte { return binary.LittleEndian.AppendUint32(nil, n) }
	switch kind {
	case "huge":
		_, err := c.Write(frame(1 << 31))
		return false, err
	case "zero":
		_, err := c.Write(frame(0))
		return false, err
	case "short":
		_, err := c.Write(append(frame(100), make([]byte, 10)...))
		c.(*net.TCPConn).CloseWrite()
		return false, err
	case "junk":
		junk := make([]byte, 64)
		rand.Read(junk)
		_, err := c.Write(append(frame(uint32(len(junk))), junk...))
		return true, err
	}
	return false, fmt.Errorf("unknown frame kind %q", kind)
}

// acceptHello is node to's next connection that says its hello; one the
// kernel gives up on before its hello (a loaded machine's deadline) is
// skipped, as the kernel dials again.
func acceptHello(l net.Listener, as, to uint) (net.Conn, error) {
	for {
		c, err := l.Accept()
		if err != nil {
			return nil, fmt.Errorf("no connection from node %d: %w", to, err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		h, err := readHello(c)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			c.Close()
			continue
		}
		if err != nil || h.Magic != magic || h.From != uint32(to) || h.To != uint32(as) {
			c.Close()
			return nil, fmt.Errorf("hello %+v, %v", h, err)
		}
		return c, nil
	}
}

func peer(listen string, as, to uint, kinds []string) error {
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	defer l.Close()
	for _, kind := range kinds {
		l.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second))
		c, err := acceptHello(l, as, to)
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
		if _, err := c.Write(hello{Magic: magic, Version: version, Flags: fAnswer, From: uint32(as), To: uint32(to)}.bytes()); err != nil {
			c.Close()
			return err
		}
		lives, err := badFrame(c, kind)
		if err == nil && lives {
			if closedWithin(c, time.Second) == nil {
				err = errors.New("the session ended")
			}
		} else if err == nil {
			err = closedWithin(c, 8*time.Second)
		}
		c.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
		fmt.Printf("# frame %s: handled\n", kind)
	}
	return nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: pcn-stranger garbage|slow|hello|flood|peer [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	addr := fs.String("addr", "", "the kernel's listener, ADDRESS:PORT")
	listen := fs.String("listen", "", "where to listen as a peer (peer)")
	from := fs.Uint("from", 1, "the node id our hello claims (hello)")
	to := fs.Uint("to", 0, "the node id of the kernel")
	as := fs.Uint("as", 3, "the node id we act as (peer)")
	ver := fs.Uint("version", version, "the version our hello claims (hello)")
	want := fs.Uint("want", 0, "the status wanted in the answer (hello)")
	n := fs.Int("n", 40, "connections (flood)")
	frames := fs.String("frames", "huge,zero,short,junk", "bad frames to send (peer)")
	fs.Parse(os.Args[2:])

	var err error
	switch os.Args[1] {
	case "garbage":
		err = garbage(*addr)
	case "slow":
		err = slow(*addr)
	case "hello":
		err = sayHello(*addr, *from, *to, *ver, uint32(*want))
	case "flood":
		err = flood(*addr, *n)
	case "peer":
		err = peer(*listen, *as, *to, strings.Split(*frames, ","))
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcn-stranger:", err)
		os.Exit(1)
	}
}
