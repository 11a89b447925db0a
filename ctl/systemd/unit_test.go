// Package systemd holds popcornd's unit; its test checks the unit with
// systemd-analyze verify against the binaries built from this tree.
package systemd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze (Debian's systemd package)")
	}
	unit, err := os.ReadFile("popcornd.service")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sbin := filepath.Join(dir, "usr", "sbin")
	for _, bin := range []string{"popcornd", "popcornctl"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(sbin, bin), "../cmd/"+bin).CombinedOutput()
		if err != nil {
			t.Fatalf("build %s: %v\n%s", bin, err, out)
		}
	}
	// The unit names /usr/sbin; verify checks that what it runs exists.
	path := filepath.Join(dir, "popcornd.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/sbin/", sbin+"/")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, want := range []string{"Type=notify", "Restart=on-failure", "CapabilityBoundingSet=CAP_NET_ADMIN", "AF_NETLINK"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("unit lacks %s", want)
		}
	}
}
