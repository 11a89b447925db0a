package vm

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Suite is one line of tests/guest/suites: a script, how many guests run
// it, and how the rig is set up for it.
type Suite struct {
	Name      string
	Guests    int
	CPUs      int
	Script    string
	Host      string // host-side client script (--host=FILE)
	Ivshmem   string
	Vectors   int
	ShmSize   int64
	Net, NIC  bool
	Timeout   time.Duration
	WantSplat bool // the suite passes only if the rig sees a splat
	NoDebug   bool // skipped on the debug kernel
}

// ParseSuites reads the manifest: "name guests script [--opt[=value]]...".
func ParseSuites(path string) ([]Suite, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var suites []Suite
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := parseSuite(strings.Fields(line))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		suites = append(suites, s)
	}
	return suites, sc.Err()
}

func parseSuite(f []string) (Suite, error) {
	if len(f) < 3 {
		return Suite{}, fmt.Errorf("want name, guests and script, got %q", strings.Join(f, " "))
	}
	s := Suite{Name: f[0], Script: f[2], Ivshmem: "doorbell", CPUs: 1, ShmSize: 4 << 20, Timeout: 3 * time.Minute}
	var err error
	if s.Guests, err = strconv.Atoi(f[1]); err != nil || s.Guests < 1 || s.Guests > 8 {
		return s, fmt.Errorf("guests %q: want 1..8", f[1])
	}
	for _, opt := range f[3:] {
		key, val, _ := strings.Cut(opt, "=")
		switch key {
		case "--ivshmem":
			s.Ivshmem = val
		case "--cpus":
			s.CPUs, err = strconv.Atoi(val)
		case "--vectors":
			s.Vectors, err = strconv.Atoi(val)
		case "--shm-size":
			s.ShmSize, err = strconv.ParseInt(val, 10, 64)
		case "--timeout":
			s.Timeout, err = time.ParseDuration(val)
		case "--net":
			s.Net = true
		case "--nic":
			s.NIC = true
		case "--host":
			s.Host = val
		case "--want-splat":
			s.WantSplat = true
		case "--no-debug":
			s.NoDebug = true
		default:
			return s, fmt.Errorf("unknown option %q", opt)
		}
		if err != nil {
			return s, fmt.Errorf("option %q: %w", opt, err)
		}
	}
	return s, nil
}
