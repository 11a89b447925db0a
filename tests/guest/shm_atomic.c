// SPDX-License-Identifier: GPL-2.0
/*
 * shm-atomic: do guests' atomic instructions stay atomic across guests?
 * Every guest runs
 *
 *   shm-atomic RESOURCE2 GUEST GUESTS COUNT
 *
 * at once: each does COUNT compare-and-swap increments of one 64-bit
 * counter in the ivshmem BAR2 window, and the final count must be exactly
 * GUESTS * COUNT. QEMU's TCG makes a guest's atomics atomic against other
 * vCPUs only when the machine may have more than one (-smp N,maxcpus>=2,
 * multi-threaded TCG); with -smp 1 increments are lost.
 *
 * It prints the count, the failed compare-and-swaps, and how often other
 * guests' increments came between two of ours (none would mean the guests
 * did not run at the same time, and the test proved little).
 *
 * RESOURCE2 is /sys/bus/pci/devices/<dev>/resource2, mapped with no driver
 * bound; nothing else may write the window. The last page of the window
 * holds the counter and, for each guest, a "ready" and a "done" word that
 * only that guest writes: guests start together and check the count only
 * when all have finished, by polling those words.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_GUESTS 8

struct atomic_page {
	uint64_t counter __attribute__((aligned(64)));
	struct {
		uint64_t ready __attribute__((aligned(64)));
		uint64_t done __attribute__((aligned(64)));
	} guest[MAX_GUESTS];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct atomic_page *map_page(const char *path)
{
	struct stat st;
	void *base;
	int fd = open(path, O_RDWR | O_SYNC);

	if (fd < 0 || fstat(fd, &st)) {
		perror(path);
		exit(1);
	}
	if (st.st_size < 4096) {
		fprintf(stderr, "shm-atomic: %s is too small\n", path);
		exit(1);
	}
	base = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	close(fd);
	return (struct atomic_page *)((char *)base + st.st_size - 4096);
}

/* Poll until every guest has set its ready (or done) word to 1. */
static bool wait_all(struct atomic_page *p, int guests, bool done, uint64_t timeout_s)
{
	uint64_t deadline = now_ms() + timeout_s * 1000;
	int g, n;

	do {
		for (n = 0, g = 0; g < guests; g++)
			n += __atomic_load_n(done ? &p->guest[g].done : &p->guest[g].ready,
					     __ATOMIC_ACQUIRE) == 1;
		if (n == guests)
			return true;
	} while (now_ms() < deadline);
	fprintf(stderr, "shm-atomic: %d of %d guests %s\n", n, guests,
		done ? "finished" : "started");
	return false;
}

int main(int argc, char **argv)
{
	struct atomic_page *p;
	uint64_t old, mine = 0, want, got, retries = 0, interleaved = 0, start;
	long self, guests, count, i;

	if (argc != 5) {
		fprintf(stderr, "usage: shm-atomic RESOURCE2 GUEST GUESTS COUNT\n");
		return 2;
	}
	self = atol(argv[2]);
	guests = atol(argv[3]);
	count = atol(argv[4]);
	if (guests < 1 || guests > MAX_GUESTS || self < 0 || self >= guests || count < 1) {
		fprintf(stderr, "shm-atomic: bad arguments\n");
		return 2;
	}
	p = map_page(argv[1]);

	__atomic_store_n(&p->guest[self].ready, 1, __ATOMIC_RELEASE);
	if (!wait_all(p, guests, false, 120))
		return 1;

	start = now_ms();
	for (i = 0; i < count; i++) {
		old = __atomic_load_n(&p->counter, __ATOMIC_RELAXED);
		while (!__atomic_compare_exchange_n(&p->counter, &old, old + 1, false,
						    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
			retries++;
		/* Another guest incremented since we last did: we overlapped. */
		interleaved += i && old != mine;
		mine = old + 1;
	}
	__atomic_store_n(&p->guest[self].done, 1, __ATOMIC_RELEASE);
	if (!wait_all(p, guests, true, 600))
		return 1;

	got = __atomic_load_n(&p->counter, __ATOMIC_ACQUIRE);
	want = (uint64_t)guests * count;
	printf("count=%llu want=%llu lost=%lld retries=%llu interleaved=%llu ms=%llu\n",
	       (unsigned long long)got, (unsigned long long)want,
	       (long long)(want - got), (unsigned long long)retries,
	       (unsigned long long)interleaved, (unsigned long long)(now_ms() - start));
	return got == want ? 0 : 1;
}
