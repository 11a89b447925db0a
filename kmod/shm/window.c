// SPDX-License-Identifier: GPL-2.0
/* Backend-independent access to a shared-memory window. */
#include <linux/errno.h>
#include <linux/hardirq.h>
#include <linux/interrupt.h>

#include "window.h"

int pcn_shm_window_ring(struct pcn_shm_window *win, u16 peer, u16 vector)
{
	return win->ops->ring(win, peer, vector);
}

/*
 * Install or clear the doorbell callback. Clearing waits for handlers that
 * may still be running with the old one, so @priv can be freed afterwards.
 */
void pcn_shm_window_set_doorbell(struct pcn_shm_window *win,
				 pcn_shm_doorbell_fn fn, void *priv)
{
	if (fn) {
		win->priv = priv;
		/* Publish @priv before the handler can see @fn. */
		smp_store_release(&win->doorbell, fn);
		return;
	}
	WRITE_ONCE(win->doorbell, NULL);
	synchronize_rcu();
	win->priv = NULL;
}
