package snapbean

import (
	"bytes"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ethtool's ioctl commands and string set (linux/ethtool.h).
const (
	ethtoolGStrings = 0x1b
	ethtoolGStats   = 0x1d
	ethSSStats      = 1
	ethGStringLen   = 32
)

// ifreq is struct ifreq with ifr_data.
type ifreq struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [16]byte
}

// Counters reads dev's ethtool -S counters by name.
func Counters(dev string) (map[string]uint64, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	info, err := unix.IoctlGetEthtoolDrvinfo(fd, dev)
	if err != nil {
		return nil, fmt.Errorf("ethtool -i %s: %w", dev, err)
	}
	n := int(info.N_stats)
	strs := make([]byte, 12+n*ethGStringLen)
	*(*[3]uint32)(unsafe.Pointer(&strs[0])) = [3]uint32{ethtoolGStrings, ethSSStats, uint32(n)}
	if err := ethtool(fd, dev, unsafe.Pointer(&strs[0])); err != nil {
		return nil, fmt.Errorf("ethtool strings of %s: %w", dev, err)
	}
	stats := make([]uint64, 1+n)
	*(*[2]uint32)(unsafe.Pointer(&stats[0])) = [2]uint32{ethtoolGStats, uint32(n)}
	if err := ethtool(fd, dev, unsafe.Pointer(&stats[0])); err != nil {
		return nil, fmt.Errorf("ethtool -S %s: %w", dev, err)
	}
	// The kernel says how many it wrote; a device whose set changed in
	// between gives fewer names than values or the other way round.
	got := min(n, int(*(*uint32)(unsafe.Pointer(uintptr(unsafe.Pointer(&stats[0])) + 4))))
	out := make(map[string]uint64, got)
	for i := 0; i < got; i++ {
		name := strs[12+i*ethGStringLen : 12+(i+1)*ethGStringLen]
		out[string(bytes.TrimRight(name, "\x00"))] = stats[1+i]
	}
	return out, nil
}

func ethtool(fd int, dev string, data unsafe.Pointer) error {
	var ifr ifreq
	copy(ifr.name[:unix.IFNAMSIZ-1], dev)
	ifr.data = data
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
	runtime.KeepAlive(data)
	if errno != 0 {
		return errno
	}
	return nil
}
