package vm

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Kernel is a Debian kernel image unpacked into the cache.
type Kernel struct {
	Release string // uname -r, e.g. 6.1.0-56-cloud-amd64
	Root    string // where the .deb was unpacked
}

func (k Kernel) Image() string { return filepath.Join(k.Root, "boot", "vmlinuz-"+k.Release) }

func (k Kernel) ModuleDir() string { return filepath.Join(k.Root, "lib", "modules", k.Release) }

// Series is the "6.1" or "6.12" a person names a kernel by; "debug" for
// the rig's debug kernel (tests/vm/debug-kernel).
func (k Kernel) Series() string { return series(k.Release) }

// Debug tells the rig's debug kernel (KASAN, lockdep, kmemleak) from
// Debian's.
func (k Kernel) Debug() bool { return isDebug(k.Release) }

// debugSuffix is CONFIG_LOCALVERSION of tests/vm/debug-kernel/config.
const debugSuffix = "-pcn-debug"

func isDebug(release string) bool { return strings.HasSuffix(release, debugSuffix) }

func series(release string) string {
	if isDebug(release) {
		return "debug"
	}
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return release
	}
	minor := parts[1]
	if i := strings.IndexFunc(minor, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minor = minor[:i]
	}
	return parts[0] + "." + minor
}

// ModulesDir holds, per release, the debug variant of our modules that
// the guests load (make modules-matrix).
func ModulesDir(buildDir string) string { return filepath.Join(buildDir, "modules-debug") }

// Releases lists the kernel releases our modules were built for, from
// build/modules-debug/<release>/; those are the kernels the rig boots.
func Releases(buildDir string) ([]string, error) {
	ents, err := os.ReadDir(ModulesDir(buildDir))
	if err != nil {
		return nil, fmt.Errorf("no modules built (run make modules-matrix): %w", err)
	}
	var rels []string
	for _, e := range ents {
		if e.IsDir() {
			rels = append(rels, e.Name())
		}
	}
	sort.Strings(rels)
	return rels, nil
}

// Fetch downloads and unpacks linux-image-<release> unless it is cached.
// The debug kernel is never downloaded: tests/vm/debug-kernel builds it.
func Fetch(cacheDir, release string) (Kernel, error) {
	k := Kernel{Release: release, Root: filepath.Join(cacheDir, release)}
	if _, err := os.Stat(k.Image()); err == nil {
		return k, nil
	}
	if isDebug(release) {
		return k, fmt.Errorf("debug kernel %s is not built (run tests/vm/debug-kernel/build.sh)", release)
	}
	tmp, err := os.MkdirTemp(cacheDir, ".fetch-")
	if err != nil {
		return k, err
	}
	defer os.RemoveAll(tmp)
	pkg := "linux-image-" + release
	dl := exec.Command("apt-get", "download", "-q", pkg)
	dl.Dir = tmp
	if out, err := dl.CombinedOutput(); err != nil {
		return k, fmt.Errorf("apt-get download %s: %v\n%s", pkg, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, pkg+"_*.deb"))
	if len(debs) != 1 {
		return k, fmt.Errorf("apt-get download %s: got %d packages", pkg, len(debs))
	}
	root := filepath.Join(tmp, "root")
	if out, err := exec.Command("dpkg-deb", "-x", debs[0], root).CombinedOutput(); err != nil {
		return k, fmt.Errorf("dpkg-deb -x %s: %v\n%s", debs[0], err, out)
	}
	os.RemoveAll(k.Root)
	if err := os.Rename(root, k.Root); err != nil {
		return k, err
	}
	return k, nil
}

// FindKernel picks the cached kernel for a series ("6.1") or exact release.
func FindKernel(cacheDir, buildDir, name string) (Kernel, error) {
	rels, err := Releases(buildDir)
	if err != nil {
		return Kernel{}, err
	}
	for _, rel := range rels {
		if rel != name && series(rel) != name {
			continue
		}
		k := Kernel{Release: rel, Root: filepath.Join(cacheDir, rel)}
		if _, err := os.Stat(k.Image()); err != nil {
			return k, fmt.Errorf("kernel %s is not fetched (run popcorn-vm fetch): %w", rel, err)
		}
		return k, nil
	}
	return Kernel{}, fmt.Errorf("no modules built for kernel %q (have %s)", name, strings.Join(rels, ", "))
}
