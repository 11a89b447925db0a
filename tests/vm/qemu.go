package vm

import (
	"fmt"
	"path/filepath"
	"strconv"
)

// guestArgs is the QEMU command line of guest i.
func (r *run) guestArgs(i int) []string {
	o := r.opts
	script := o.Script
	if o.Interactive && i > 0 {
		script = "idle"
	}
	// printk.time=1 stamps every kernel line, so the console scan can tell
	// the kernel's messages from the test's output on the same console.
	// no_timer_check: on a loaded host, TCG's timer can miss the early
	// boot check ("IO-APIC + timer doesn't work!") and panic the guest.
	cmdline := fmt.Sprintf("console=ttyS0 panic=-1 loglevel=7 printk.time=1 no_timer_check "+
		"popcorn.guest=%d popcorn.guests=%d popcorn.test=%s popcorn.ivshmem=%s "+
		"popcorn.shm_size=%d popcorn.vectors=%d popcorn.boot=%d",
		i, o.Guests, script, o.Ivshmem, o.ShmSize, o.vectors(), r.boot(i))
	if o.Kernel.Debug() {
		// On the debug kernel a warning (lockdep, a sleep in atomic
		// context, ...) stops the guest there and then. Its guests run
		// several times slower than the cloud kernel's and, four to two
		// host cores, stall long enough to miss the 1 s default: tests
		// load popcorn_msg with popcorn.dead_ms unless they time it.
		cmdline += " panic_on_warn=1 popcorn.dead_ms=3000"
	}
	args := []string{
		// Multi-threaded TCG on a machine that may have two vCPUs: only then
		// does QEMU make a guest's atomic instructions atomic against other
		// guests' (with -smp 1 it emulates them as plain loads and stores,
		// and increments through the window get lost: tests/guest/shm_atomic).
		"-machine", "pc", "-accel", "tcg,thread=multi",
		"-smp", fmt.Sprintf("%d,maxcpus=%d", o.CPUs, max(o.CPUs, 2)),
		"-name", fmt.Sprintf("guest%d,debug-threads=on", i),
		"-m", strconv.Itoa(o.MemMB) + "M",
		"-nodefaults", "-display", "none", "-no-reboot",
		"-kernel", o.Kernel.Image(), "-initrd", r.initrd,
		"-append", cmdline,
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
	}
	if i == 0 && o.Interactive {
		args = append(args, "-serial", "mon:stdio")
	} else {
		args = append(args, "-chardev", "file,id=con,path="+r.console(i), "-serial", "chardev:con")
	}
	args = append(args, "-chardev", "file,id=res,path="+r.results(i), "-serial", "chardev:res")

	switch o.Ivshmem {
	case "doorbell":
		args = append(args,
			"-chardev", "socket,id=ivsh,path="+r.socket(),
			"-device", fmt.Sprintf("ivshmem-doorbell,chardev=ivsh,vectors=%d", o.vectors()))
	case "plain":
		args = append(args,
			"-object", fmt.Sprintf("memory-backend-file,id=shm,share=on,mem-path=%s,size=%d", r.shmPath, o.ShmSize),
			"-device", "ivshmem-plain,memdev=shm")
	}
	// Taps from the run's namespace, passed from fd 3 on in the order of
	// hostNet.guestFiles: guest 0's NIC, then the guest's port on br0.
	fd := 3
	if o.NIC && i == 0 {
		args = append(args,
			"-netdev", fmt.Sprintf("tap,id=nic,fd=%d", fd),
			"-device", "virtio-net-pci,netdev=nic,mac=52:54:00:00:02:00")
		fd++
	}
	if o.Net {
		args = append(args,
			"-netdev", fmt.Sprintf("tap,id=link,fd=%d", fd),
			"-device", fmt.Sprintf("virtio-net-pci,netdev=link,mac=52:54:00:00:01:%02x", i))
	}
	return args
}

func (r *run) console(i int) string { return filepath.Join(r.dir, fmt.Sprintf("console-%d.log", i)) }
func (r *run) results(i int) string { return filepath.Join(r.dir, fmt.Sprintf("results-%d.ktap", i)) }
func (r *run) socket() string       { return filepath.Join(r.dir, "ivshmem.sock") }
