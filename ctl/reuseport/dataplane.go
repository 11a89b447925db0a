package reuseport

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/popcorn-kernel/popcorn/ctl/internal/angel"
)

// dataplane is the sk_reuseport program and its maps.
type dataplane struct {
	objs reuseportObjects
	// loads is rp_loads mapped into this process: workers publish their
	// queues there with atomic adds, no system call on the accept path.
	loads []byte
}

func openDataplane() (*dataplane, error) {
	d := &dataplane{}
	if err := loadReuseportObjects(&d.objs, nil); err != nil {
		return nil, fmt.Errorf("reuseport: loading the sk_reuseport program: %w", err)
	}
	m := d.objs.RpLoads
	size := int(m.MaxEntries() * m.ValueSize())
	size = (size + os.Getpagesize() - 1) &^ (os.Getpagesize() - 1)
	b, err := unix.Mmap(m.FD(), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		d.objs.Close()
		return nil, fmt.Errorf("reuseport: mapping the load array: %w", err)
	}
	d.loads = b
	// A worker may still be returning from Accept when the Group closes:
	// the mapping goes only once no worker can reach it.
	runtime.AddCleanup(d, func(b []byte) { unix.Munmap(b) }, b)
	return d, nil
}

// close releases this process's handles; the program and maps live on
// while a socket of the group does.
func (d *dataplane) close() error { return d.objs.Close() }

// queue is worker i's published queue depth (struct rp_load's queue).
func (d *dataplane) queue(i int) *atomic.Int32 {
	return d.loadField(i, unsafe.Offsetof(reuseportRpLoad{}.Queue))
}

// limit is the queue depth at which worker i takes no more connections
// of others (struct rp_load's limit).
func (d *dataplane) limit(i int) *atomic.Int32 {
	return d.loadField(i, unsafe.Offsetof(reuseportRpLoad{}.Limit))
}

func (d *dataplane) loadField(i int, off uintptr) *atomic.Int32 {
	at := i*int(unsafe.Sizeof(reuseportRpLoad{})) + int(off)
	return (*atomic.Int32)(unsafe.Pointer(&d.loads[at]))
}

// configure tells the program how many workers there are and whether it
// may pass a connection to a worker other than its bucket's.
func (d *dataplane) configure(workers int, divert bool) error {
	cfg := reuseportRpCfg{Workers: uint32(workers)}
	if divert {
		cfg.Divert = 1
	}
	return d.objs.RpConfig.Update(uint32(0), cfg, ebpf.UpdateAny)
}

// setTable writes the whole table.
func (d *dataplane) setTable(t angel.Table) error {
	keys := make([]uint32, len(t))
	for i := range keys {
		keys[i] = uint32(i)
	}
	_, err := d.objs.RpTable.BatchUpdate(keys, []uint32(t), nil)
	return err
}

// apply writes the buckets that moves gave away.
func (d *dataplane) apply(moves []angel.Move) error {
	keys := make([]uint32, len(moves))
	vals := make([]uint32, len(moves))
	for i, m := range moves {
		keys[i], vals[i] = uint32(m.Bucket), m.To
	}
	_, err := d.objs.RpTable.BatchUpdate(keys, vals, nil)
	return err
}

// addSocket puts worker i's listening socket in the sockarray.
func (d *dataplane) addSocket(i int, rc syscall.RawConn) error {
	var err error
	cerr := rc.Control(func(fd uintptr) {
		err = d.objs.RpSocks.Update(uint32(i), uint64(fd), ebpf.UpdateAny)
	})
	return errors.Join(cerr, err)
}

// attach makes the program choose for the whole group that the socket is
// in; the kernel keeps it there until the group's last socket closes.
func (d *dataplane) attach(rc syscall.RawConn) error {
	var err error
	cerr := rc.Control(func(fd uintptr) {
		err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_EBPF,
			d.objs.AngelReuseport.FD())
	})
	return errors.Join(cerr, err)
}

// counters sums worker i's counters over the CPUs.
func (d *dataplane) counters(i int) (reuseportRpStats, error) {
	var sum reuseportRpStats
	var per []reuseportRpStats
	if err := d.objs.RpCounters.Lookup(uint32(i), &per); err != nil {
		return sum, err
	}
	for _, s := range per {
		sum.Picks += s.Picks
		sum.Fallbacks += s.Fallbacks
		sum.Skips += s.Skips
	}
	return sum, nil
}

func (d *dataplane) event(ev reuseportRpEvent) (uint64, error) {
	var per []uint64
	if err := d.objs.RpEvents.Lookup(ev, &per); err != nil {
		return 0, err
	}
	var n uint64
	for _, v := range per {
		n += v
	}
	return n, nil
}
