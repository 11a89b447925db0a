/* SPDX-License-Identifier: GPL-2.0 */
/* The "shm" transport of popcorn_msg, over one shared-memory window. */
#ifndef _POPCORN_SHM_TRANSPORT_H
#define _POPCORN_SHM_TRANSPORT_H

#include "window.h"

/* The doorbell vector that wakes a kernel's receive thread. */
#define PCN_SHM_RX_VECTOR	0

int pcn_shm_transport_init(void);
void pcn_shm_transport_exit(void);
/* Offer a window with doorbells to the transport; the first one is used. */
int pcn_shm_transport_attach(struct pcn_shm_window *win);
void pcn_shm_transport_detach(struct pcn_shm_window *win);
int pcn_shm_inject_corrupt(unsigned int peer);

#endif /* _POPCORN_SHM_TRANSPORT_H */
