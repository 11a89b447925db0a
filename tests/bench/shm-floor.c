// SPDX-License-Identifier: GPL-2.0
/*
 * shm-floor: the floor under any shared-memory transport. Two user
 * processes, one per kernel, ping-pong a counter through the ivshmem BAR2
 * with busy polling, or stream chunks through it; no kernel code runs on
 * the path.
 *
 *   shm-floor pong RESOURCE2              (on one kernel)
 *   shm-floor ping RESOURCE2 COUNT RUNS   (on the other: one line per run)
 *   shm-floor recv RESOURCE2              (on one kernel)
 *   shm-floor send RESOURCE2 SIZE COUNT RUNS
 *
 * RESOURCE2 is /sys/bus/pci/devices/<dev>/resource2, mapped before any
 * driver claims the device. The ping side prints p50 and p99 in us; the
 * send side MB/s (10^6 bytes) for COUNT chunks of SIZE bytes, each copied
 * into the window by the sender and out of it by the receiver, through
 * CHUNK_SLOTS slots at the start of the window (zeroed when done).
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Two lines at the end of the window, far from the transport's rings. */
struct floor_lines {
	volatile uint64_t ping __attribute__((aligned(64)));
	volatile uint64_t pong __attribute__((aligned(64)));
};

/* The chunk stream's counters, on the page before the ping lines. */
struct floor_stream {
	volatile uint64_t ready __attribute__((aligned(64)));
	volatile uint64_t sent __attribute__((aligned(64)));
	volatile uint64_t done __attribute__((aligned(64)));
	volatile uint64_t chunk_bytes __attribute__((aligned(64)));
};

#define CHUNK_SLOTS	4
#define STREAM_END	UINT64_MAX

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static struct floor_lines *map_lines(const char *path, void **base, size_t *size)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_SYNC);

	if (fd < 0 || fstat(fd, &st)) {
		perror(path);
		exit(1);
	}
	*size = st.st_size;
	*base = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*base == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	close(fd);
	return (struct floor_lines *)((char *)*base + *size - 4096);
}

/* Answer every ping until the ping side says it is done. */
static int pong(struct floor_lines *l)
{
	uint64_t seen = 0, deadline = now_ns() + 60ULL * 1000000000;

	for (;;) {
		uint64_t v = l->ping;

		if (v != seen) {
			l->pong = v;
			seen = v;
			if (v == UINT64_MAX)
				return 0;
			deadline = now_ns() + 10ULL * 1000000000;
		} else if (now_ns() > deadline) {
			fprintf(stderr, "shm-floor: no ping\n");
			return 1;
		}
	}
}

/* One round trip; false if the pong side is not there. */
static bool round_trip(struct floor_lines *l, uint64_t v, uint64_t timeout_ns)
{
	uint64_t deadline = now_ns() + timeout_ns;

	l->ping = v;
	while (l->pong != v)
		if (now_ns() > deadline)
			return false;
	return true;
}

static int ping(struct floor_lines *l, long count, long runs)
{
	uint64_t *ns = calloc(count, sizeof(*ns)), v = 1, t;
	long i, run;

	if (!ns || count < 1)
		return 1;
	if (!round_trip(l, v++, 60ULL * 1000000000)) {
		fprintf(stderr, "shm-floor: no pong\n");
		return 1;
	}
	for (run = 1; run <= runs; run++) {
		for (i = -count / 10; i < count; i++, v++) {
			t = now_ns();
			if (!round_trip(l, v, 1000000000)) {
				fprintf(stderr, "shm-floor: pong went away\n");
				return 1;
			}
			if (i >= 0)
				ns[i] = now_ns() - t;
		}
		qsort(ns, count, sizeof(*ns), cmp);
		printf("run=%ld p50_us=%.2f p99_us=%.2f\n", run, ns[(count - 1) / 2] / 1e3,
		       ns[(count * 99 + 99) / 100 - 1] / 1e3);
		fflush(stdout);
	}
	round_trip(l, UINT64_MAX, 1000000000);
	memset((void *)l, 0, sizeof(*l));
	free(ns);
	return 0;
}

/* Wait until @v reaches @want; false after @timeout_ns. */
static bool wait_for(volatile uint64_t *v, uint64_t want, uint64_t timeout_ns)
{
	uint64_t deadline = now_ns() + timeout_ns;

	while (*v < want)
		if (now_ns() > deadline)
			return false;
	__sync_synchronize();
	return true;
}

/* Copy every chunk the sender publishes out of the window. */
static int recv_chunks(struct floor_stream *st, char *window)
{
	uint64_t seen = 0, sent, chunk;
	char *buf = NULL;

	st->ready = 1;
	for (;;) {
		if (!wait_for(&st->sent, seen + 1, 60ULL * 1000000000)) {
			fprintf(stderr, "shm-floor: no chunk\n");
			return 1;
		}
		sent = st->sent;
		if (sent == STREAM_END)
			break;
		chunk = st->chunk_bytes;
		if (!buf)
			buf = malloc(chunk);
		if (!buf)
			return 1;
		for (seen++; seen <= sent; seen++)
			memcpy(buf, window + ((seen - 1) % CHUNK_SLOTS) * chunk, chunk);
		seen--;
		__sync_synchronize();	/* our copies before the slots go back */
		st->done = seen;
	}
	free(buf);
	return 0;
}

static int send_chunks(struct floor_stream *st, char *window, size_t room,
		       long chunk, long count, long runs)
{
	uint64_t seq = 0, t;
	long i, run;
	char *buf;

	if (chunk < 1 || count < 1 || (size_t)chunk * CHUNK_SLOTS > room)
		return 1;
	buf = malloc(chunk);
	if (!buf)
		return 1;
	memset(buf, 0x5a, chunk);
	st->chunk_bytes = chunk;
	if (!wait_for(&st->ready, 1, 60ULL * 1000000000)) {
		fprintf(stderr, "shm-floor: no receiver\n");
		return 1;
	}
	for (run = 1; run <= runs; run++) {
		t = now_ns();
		for (i = 0; i < count; i++) {
			seq++;
			if (seq > CHUNK_SLOTS &&
			    !wait_for(&st->done, seq - CHUNK_SLOTS, 10ULL * 1000000000))
				goto gone;
			memcpy(window + ((seq - 1) % CHUNK_SLOTS) * chunk, buf, chunk);
			__sync_synchronize();	/* the chunk before its number */
			st->sent = seq;
		}
		if (!wait_for(&st->done, seq, 10ULL * 1000000000))
			goto gone;
		t = now_ns() - t;
		printf("run=%ld MBps=%.1f\n", run, (double)chunk * count * 1e3 / t);
		fflush(stdout);
	}
	st->sent = STREAM_END;
	usleep(100000);
	memset(window, 0, (size_t)chunk * CHUNK_SLOTS);
	memset((void *)st, 0, sizeof(*st));
	free(buf);
	return 0;
gone:
	fprintf(stderr, "shm-floor: receiver went away\n");
	return 1;
}

static int bad_args(void)
{
	fprintf(stderr, "usage: shm-floor pong RESOURCE2 | ping RESOURCE2 COUNT RUNS\n"
		"       shm-floor recv RESOURCE2 | send RESOURCE2 SIZE COUNT RUNS\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct floor_stream *st;
	struct floor_lines *l;
	void *base;
	size_t size;
	int rc;

	if (argc < 3)
		return bad_args();
	l = map_lines(argv[2], &base, &size);
	st = (struct floor_stream *)((char *)l - 4096);
	if (!strcmp(argv[1], "pong") && argc == 3)
		rc = pong(l);
	else if (!strcmp(argv[1], "ping") && argc == 5)
		rc = ping(l, atol(argv[3]), atol(argv[4]));
	else if (!strcmp(argv[1], "recv") && argc == 3)
		rc = recv_chunks(st, base);
	else if (!strcmp(argv[1], "send") && argc == 6)
		rc = send_chunks(st, base, (char *)st - (char *)base, atol(argv[3]),
				 atol(argv[4]), atol(argv[5]));
	else
		rc = bad_args();
	munmap(base, size);
	return rc;
}
