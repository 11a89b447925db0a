package daemon

import (
	"context"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/popcorn-kernel/popcorn/api"
)

// watchFamily asks for a reconcile, and a new event subscription, the
// moment popcorn_msg registers its family: a reload is put right at once
// rather than at the next resync.
func (d *Daemon) watchFamily(ctx context.Context) {
	for ctx.Err() == nil {
		if err := d.watchFamilyOnce(ctx); err != nil && ctx.Err() == nil {
			d.o.Log.Warn("cannot watch for popcorn_msg loads; resync alone will notice", "error", err)
			sleep(ctx, d.o.Resync)
		}
	}
}

func (d *Daemon) watchFamilyOnce(ctx context.Context) error {
	c, err := genetlink.Dial(nil)
	if err != nil {
		return err
	}
	defer c.Close()
	ctrl, err := c.GetFamily("nlctrl")
	if err != nil {
		return err
	}
	for _, g := range ctrl.Groups {
		if g.Name == "notify" {
			if err := c.JoinGroup(g.ID); err != nil {
				return err
			}
		}
	}
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()) })
	defer stop()
	for {
		msgs, _, err := c.Receive()
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Header.Command == unix.CTRL_CMD_NEWFAMILY && familyName(m.Data) == api.FamilyName {
				d.o.Log.Info("popcorn_msg loaded", "event", "module")
				poke(d.resubscribe)
				poke(d.kick)
			}
		}
	}
}

func familyName(b []byte) string {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return ""
	}
	for ad.Next() {
		if ad.Type() == unix.CTRL_ATTR_FAMILY_NAME {
			return ad.String()
		}
	}
	return ""
}
