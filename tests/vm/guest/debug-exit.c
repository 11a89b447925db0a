// SPDX-License-Identifier: GPL-2.0
/*
 * debug-exit CODE: ends the guest through QEMU's isa-debug-exit device at
 * port 0xf4; QEMU then exits with status CODE * 2 + 1. The kernel has no
 * /dev/port, so this is the one way out that carries a status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

#define DEBUG_EXIT_PORT 0xf4

int main(int argc, char **argv)
{
	int code = argc > 1 ? atoi(argv[1]) : 0;

	if (code < 0 || code > 127)
		code = 127;
	if (ioperm(DEBUG_EXIT_PORT, 4, 1)) {
		perror("ioperm");
		return 1;
	}
	outl(code, DEBUG_EXIT_PORT);
	fprintf(stderr, "debug-exit: no isa-debug-exit device\n");
	return 1;
}
