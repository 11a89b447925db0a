package vm

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

//go:embed init.sh
var initScript []byte

// guestKernelModules are loaded by /init, dependencies first. Those built
// into a kernel are skipped. tcp_diag answers popcornd's load meter.
var guestKernelModules = []string{"virtio_pci", "virtio_net", "tcp_diag"}

// guestTools are Debian's own binaries, copied with their libraries.
var guestTools = []string{"ip", "ethtool", "bpftool", "iperf3", "sockperf"}

// Initramfs describes what goes into a guest's root file system.
type Initramfs struct {
	Kernel   Kernel
	BuildDir string // build/: modules/<release>/, bin/, guest/
	TestsDir string // tests/guest, copied to /tests
}

// Write builds the gzip-compressed cpio archive at path.
func (ir Initramfs) Write(path string) error {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	c := newCpio(zw)
	steps := []func(*cpioWriter) error{
		ir.addBase, ir.addKernelModules, ir.addOurModules, ir.addBinaries,
		ir.addTools, ir.addTests,
	}
	for _, step := range steps {
		if err := step(c); err != nil {
			return err
		}
	}
	if err := c.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func (ir Initramfs) addBase(c *cpioWriter) error {
	for _, d := range []string{"proc", "sys", "dev", "tmp", "run", "root", "etc", "sbin", "usr/bin", "usr/sbin"} {
		if err := c.Dir(d); err != nil {
			return err
		}
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return fmt.Errorf("busybox (install busybox-static): %w", err)
	}
	if err := c.File("bin/busybox", 0o755, bb); err != nil {
		return err
	}
	if err := c.File("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\n")); err != nil {
		return err
	}
	return c.File("init", 0o755, initScript)
}

// addKernelModules copies the kernel's own modules that /init loads, with
// their dependencies, uncompressed, and the order to load them in.
func (ir Initramfs) addKernelModules(c *cpioWriter) error {
	index, err := indexModules(ir.Kernel.ModuleDir())
	if err != nil {
		return err
	}
	var order []string
	seen := map[string]bool{}
	var visit func(name string) error
	visit = func(name string) error {
		name = strings.ReplaceAll(name, "-", "_")
		if seen[name] {
			return nil
		}
		seen[name] = true
		file, ok := index[name]
		if !ok {
			return nil // built in
		}
		data, err := readModule(file)
		if err != nil {
			return err
		}
		for _, dep := range moduleDepends(data) {
			if err := visit(dep); err != nil {
				return err
			}
		}
		order = append(order, name+".ko")
		return c.File("lib/modules/"+name+".ko", 0o644, data)
	}
	for _, m := range guestKernelModules {
		if err := visit(m); err != nil {
			return err
		}
	}
	return c.File("lib/modules/load-order", 0o644, []byte(strings.Join(order, "\n")+"\n"))
}

func indexModules(dir string) (map[string]string, error) {
	index := map[string]string{}
	err := filepath.WalkDir(filepath.Join(dir, "kernel"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		base := strings.TrimSuffix(d.Name(), ".xz")
		if strings.HasSuffix(base, ".ko") {
			index[strings.ReplaceAll(strings.TrimSuffix(base, ".ko"), "-", "_")] = p
		}
		return nil
	})
	return index, err
}

func readModule(path string) ([]byte, error) {
	if strings.HasSuffix(path, ".xz") {
		out, err := exec.Command("xz", "-dc", path).Output()
		if err != nil {
			return nil, fmt.Errorf("xz -dc %s: %w", path, err)
		}
		return out, nil
	}
	return os.ReadFile(path)
}

var dependsRE = regexp.MustCompile(`(?:^|\x00)depends=([^\x00]*)`)

// moduleDepends reads the depends= entry of a module's .modinfo.
func moduleDepends(ko []byte) []string {
	m := dependsRE.FindSubmatch(ko)
	if m == nil || len(m[1]) == 0 {
		return nil
	}
	return strings.Split(string(m[1]), ",")
}

// addOurModules puts build/modules-debug/<release>/*.ko (the variant with
// test hooks) in /lib/popcorn and the test-only modules in /lib/popcorn-test.
func (ir Initramfs) addOurModules(c *cpioWriter) error {
	if err := ir.copyGlob(c, filepath.Join(ModulesDir(ir.BuildDir), ir.Kernel.Release, "*.ko"), "lib/popcorn"); err != nil {
		return err
	}
	return ir.copyGlob(c, filepath.Join(ir.BuildDir, "modules-test", ir.Kernel.Release, "*.ko"), "lib/popcorn-test")
}

// addBinaries adds our static binaries: build/bin (but the rig itself) and
// build/guest.
func (ir Initramfs) addBinaries(c *cpioWriter) error {
	if err := ir.copyGlob(c, filepath.Join(ir.BuildDir, "guest", "*"), "bin"); err != nil {
		return err
	}
	return ir.copyGlob(c, filepath.Join(ir.BuildDir, "bin", "popcorn*"), "usr/bin")
}

func (ir Initramfs) copyGlob(c *cpioWriter, pattern, dst string) error {
	files, err := filepath.Glob(pattern)
	if err != nil {
		return err
	}
	for _, f := range files {
		if filepath.Base(f) == "popcorn-vm" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := c.File(dst+"/"+filepath.Base(f), 0o755, data); err != nil {
			return err
		}
	}
	return nil
}

var lddRE = regexp.MustCompile(`(?m)(?:=> )?(/\S+) \(0x`)

// addTools copies each tool and the shared libraries ldd names for it.
func (ir Initramfs) addTools(c *cpioWriter) error {
	added := map[string]bool{}
	add := func(path string) error {
		if added[path] {
			return nil
		}
		added[path] = true
		data, err := os.ReadFile(path) // follows symlinks
		if err != nil {
			return err
		}
		return c.File(path, 0o755, data)
	}
	for _, tool := range guestTools {
		path, err := exec.LookPath(tool)
		if err != nil {
			if path, err = exec.LookPath("/usr/sbin/" + tool); err != nil {
				return fmt.Errorf("guest tool %s: %w", tool, err)
			}
		}
		path, _ = filepath.Abs(path)
		out, err := exec.Command("ldd", path).Output()
		if err != nil {
			return fmt.Errorf("ldd %s: %w", path, err)
		}
		if err := add(path); err != nil {
			return err
		}
		for _, m := range lddRE.FindAllStringSubmatch(string(out), -1) {
			if err := add(m[1]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (ir Initramfs) addTests(c *cpioWriter) error {
	return filepath.WalkDir(ir.TestsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(ir.TestsDir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return c.File("tests/"+filepath.ToSlash(rel), 0o755, data)
	})
}
