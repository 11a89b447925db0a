package snapbean

import (
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// A veth pair has ethtool counters (peer_ifindex, rx_queue_0_packets, ...):
// the same ioctls that read Snap Bean's, on a device the host has, in a
// network namespace of the test's own.
func TestCountersOfVeth(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a network namespace needs root")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	defer netns.Set(orig)
	la := netlink.NewLinkAttrs()
	la.Name = "pcnet0"
	veth := &netlink.Veth{LinkAttrs: la, PeerName: "pcnet1"}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Skipf("no veth here: %v", err)
	}
	defer netlink.LinkDel(veth)
	c, err := Counters("pcnet0")
	if err != nil {
		t.Fatal(err)
	}
	peer, err := netlink.LinkByName("pcnet1")
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := c["peer_ifindex"]; !ok || got != uint64(peer.Attrs().Index) {
		t.Fatalf("peer_ifindex %d (%v), want %d; all: %v", got, ok, peer.Attrs().Index, c)
	}
	if _, err := Counters("pcnet-none"); err == nil {
		t.Fatal("counters of a device that does not exist")
	}
}
