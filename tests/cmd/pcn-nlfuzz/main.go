// Command pcn-nlfuzz sends the generic netlink family "popcorn" random
// requests: random commands (valid ones and a few past the last), random
// flags (dump or not), and attributes of random types, lengths and bytes,
// mixed with well-formed ones so that requests also reach the kernel's
// handlers. It prints a line per errno seen and exits non-zero if the
// kernel ever fails to answer within the deadline.
//
//	pcn-nlfuzz -n 100000 -seed 1 -keep 0,1,2
//
// Nodes named in -keep (the ones carrying the test's traffic) are never
// deleted; every node the fuzzer adds is deleted at the end. Pings and
// benches are kept short (a few small messages) so that a request never
// holds the family for long; every other field is anyone's guess.
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/popcorn-kernel/popcorn/api"
)

type fuzzer struct {
	rng    *rand.Rand
	conn   *genetlink.Conn
	family genetlink.Family
	keep   map[uint32]bool
	added  int // node add requests that succeeded
	errnos map[string]int
}

// attr is one attribute, well-formed or not.
func (f *fuzzer) attr() netlink.Attribute {
	typ := uint16(f.rng.IntN(api.AMax + 3))
	if f.rng.IntN(8) == 0 {
		typ |= 1 << 15 // NLA_F_NESTED, on anything
	}
	var data []byte
	switch f.rng.IntN(4) {
	case 0: // random bytes of a random length
		data = make([]byte, f.rng.IntN(72))
		for i := range data {
			data[i] = byte(f.rng.Uint32())
		}
	case 1: // a u32 that may be in range
		data = binary.LittleEndian.AppendUint32(nil, f.u32())
	case 2: // a string, terminated or not
		data = []byte(f.endpoint())
		if f.rng.IntN(4) != 0 {
			data = append(data, 0)
		}
	default: // empty (a flag, or too short for anything else)
	}
	return netlink.Attribute{Type: typ, Data: data}
}

func (f *fuzzer) u32() uint32 {
	switch f.rng.IntN(4) {
	case 0:
		return f.rng.Uint32()
	case 1:
		return uint32(f.rng.IntN(70))
	default:
		return uint32(f.rng.IntN(8))
	}
}

// endpoint is a transport or endpoint string: ones the kernel takes, ones
// it must refuse. TCP endpoints stay on loopback and the rig's link.
func (f *fuzzer) endpoint() string {
	opts := []string{"shm", "tcp", "shm", "tcp", "self", "", "nope",
		strconv.Itoa(f.rng.IntN(10)),
		fmt.Sprintf("127.0.0.%d:%d", f.rng.IntN(255), f.rng.IntN(70000)),
		fmt.Sprintf("10.98.0.%d", 200+f.rng.IntN(50)),
		fmt.Sprintf("[::1]:%d", f.rng.IntN(70000)),
		"[::1", "1.2.3", strings.Repeat("9", f.rng.IntN(200))}
	return opts[f.rng.IntN(len(opts))]
}

// wellFormed is a request a handler gets past its policy with.
func (f *fuzzer) wellFormed(cmd uint8) []netlink.Attribute {
	u32 := func(t uint16, v uint32) netlink.Attribute {
		return netlink.Attribute{Type: t, Data: binary.LittleEndian.AppendUint32(nil, v)}
	}
	str := func(t uint16, s string) netlink.Attribute {
		return netlink.Attribute{Type: t, Data: append([]byte(s), 0)}
	}
	id := uint32(f.rng.IntN(api.MaxNodes))
	switch cmd {
	case api.CmdNodeAdd:
		transport := []string{"shm", "tcp", "tcp", "self", "nope"}[f.rng.IntN(5)]
		return []netlink.Attribute{u32(api.ANodeID, id), str(api.ANodeTransport, transport),
			str(api.ANodeEndpoint, f.endpoint())}
	case api.CmdNodeDel, api.CmdNodeGet:
		return []netlink.Attribute{u32(api.ANodeID, id)}
	case api.CmdPing:
		return []netlink.Attribute{u32(api.ANodeID, uint32(f.rng.IntN(4))), u32(api.APingCount, 1+uint32(f.rng.IntN(3))),
			u32(api.APingSize, uint32(f.rng.IntN(65537))), u32(api.APingTimeoutMs, 1+uint32(f.rng.IntN(500)))}
	case api.CmdBench:
		return []netlink.Attribute{u32(api.ANodeID, uint32(f.rng.IntN(4))), u32(api.ABenchCount, 1+uint32(f.rng.IntN(4))),
			u32(api.ABenchSize, uint32(f.rng.IntN(65537)))}
	case api.CmdLoadSet:
		return []netlink.Attribute{u32(api.ALoadAcceptQueue, f.u32()), u32(api.ALoadEstablished, f.u32()),
			u32(api.ALoadCpuBusy, uint32(f.rng.IntN(1100)))}
	}
	return nil
}

// request is one random request, and whether the fuzzer may send it.
func (f *fuzzer) request() (genetlink.Message, netlink.HeaderFlags, bool) {
	cmd := uint8(f.rng.IntN(api.CmdMax + 3))
	var attrs []netlink.Attribute
	if f.rng.IntN(2) == 0 {
		attrs = f.wellFormed(cmd)
	}
	if len(attrs) == 0 || f.rng.IntN(2) == 0 {
		for range f.rng.IntN(5) {
			attrs = append(attrs, f.attr())
		}
	}
	f.rng.Shuffle(len(attrs), func(i, j int) { attrs[i], attrs[j] = attrs[j], attrs[i] })
	flags := netlink.Request | netlink.Acknowledge
	if f.rng.IntN(3) == 0 {
		flags |= netlink.Dump
	}
	data, err := encode(attrs)
	if err != nil {
		return genetlink.Message{}, 0, false
	}
	if !f.allowed(cmd, attrs) {
		return genetlink.Message{}, 0, false
	}
	return genetlink.Message{Header: genetlink.Header{Command: cmd, Version: api.FamilyVersion}, Data: data}, flags, true
}

// allowed keeps the nodes carrying traffic, and pings and benches short:
// the last value of an attribute is the one the kernel reads.
func (f *fuzzer) allowed(cmd uint8, attrs []netlink.Attribute) bool {
	last := map[uint16]uint32{}
	for _, a := range attrs {
		if len(a.Data) >= 4 {
			last[a.Type&^(1<<15)] = binary.LittleEndian.Uint32(a.Data)
		}
	}
	switch cmd {
	case api.CmdNodeDel, api.CmdNodeAdd:
		return !f.keep[last[api.ANodeID]]
	case api.CmdPing:
		return last[api.APingCount] <= 3 && last[api.APingTimeoutMs] <= 1000
	case api.CmdBench:
		return last[api.ABenchCount] <= 4
	}
	return true
}

func encode(attrs []netlink.Attribute) ([]byte, error) {
	var b []byte
	for _, a := range attrs {
		n := 4 + len(a.Data)
		b = binary.NativeEndian.AppendUint16(b, uint16(n))
		b = binary.NativeEndian.AppendUint16(b, a.Type)
		b = append(b, a.Data...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	return b, nil
}

// send sends one request and counts its answer by errno.
func (f *fuzzer) send(m genetlink.Message, flags netlink.HeaderFlags) error {
	f.conn.SetDeadline(time.Now().Add(30 * time.Second))
	_, err := f.conn.Execute(m, f.family.ID, flags)
	name := "ok"
	var oe *netlink.OpError
	var errno syscall.Errno
	switch {
	case err == nil:
	case errors.As(err, &errno):
		name = errno.Error()
	case errors.As(err, &oe) && oe.Timeout():
		return fmt.Errorf("command %d: no answer in 30 s", m.Header.Command)
	case errors.As(err, &oe):
		name = oe.Err.Error()
	default:
		name = err.Error()
	}
	f.errnos[name]++
	if err == nil && m.Header.Command == api.CmdNodeAdd {
		f.added++
	}
	if strings.Contains(name, "mismatched sequence") {
		// What is left of an answer the library gave up on: start over.
		return f.redial()
	}
	return nil
}

func (f *fuzzer) redial() error {
	f.conn.Close()
	c, err := genetlink.Dial(nil)
	f.conn = c
	return err
}

// cleanup deletes every node but the kept ones: those the fuzzer added.
func (f *fuzzer) cleanup() {
	for id := range uint32(api.MaxNodes) {
		if f.keep[id] {
			continue
		}
		data, _ := encode([]netlink.Attribute{{Type: api.ANodeID, Data: binary.LittleEndian.AppendUint32(nil, id)}})
		f.conn.SetDeadline(time.Now().Add(30 * time.Second))
		f.conn.Execute(genetlink.Message{Header: genetlink.Header{Command: api.CmdNodeDel, Version: api.FamilyVersion}, Data: data},
			f.family.ID, netlink.Request|netlink.Acknowledge)
	}
}

func main() {
	n := flag.Int("n", 100000, "requests to send")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "random seed")
	keep := flag.String("keep", "", "node ids never to delete, comma separated")
	flag.Parse()

	conn, err := genetlink.Dial(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcn-nlfuzz:", err)
		os.Exit(1)
	}
	defer conn.Close()
	family, err := conn.GetFamily(api.FamilyName)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcn-nlfuzz:", err)
		os.Exit(1)
	}
	f := &fuzzer{rng: rand.New(rand.NewPCG(*seed, 0)), conn: conn, family: family,
		keep: map[uint32]bool{}, errnos: map[string]int{}}
	for _, s := range strings.Split(*keep, ",") {
		if id, err := strconv.Atoi(s); err == nil {
			f.keep[uint32(id)] = true
		}
	}
	fmt.Printf("# seed %d\n", *seed)
	start := time.Now()
	sent := 0
	for sent < *n {
		m, flags, ok := f.request()
		if !ok {
			continue
		}
		if err := f.send(m, flags); err != nil {
			fmt.Fprintln(os.Stderr, "pcn-nlfuzz:", err)
			os.Exit(1)
		}
		sent++
	}
	f.cleanup()
	names := make([]string, 0, len(f.errnos))
	for name := range f.errnos {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Printf("# %s: %d\n", name, f.errnos[name])
	}
	fmt.Printf("# %d requests in %.1f s, %d nodes added and deleted\n", sent, time.Since(start).Seconds(), f.added)
}
