/*
 * slowsync.c: an LD_PRELOAD module that turns this machine's disk into a
 * slow one, for `bench_serve --sync-delay MS` (issue 12's ingest goal is
 * stated for a disk whose fdatasync costs ~4 ms).
 *
 * Every flush still happens, then waits BENCH_SYNC_DELAY_US more: fsync,
 * fdatasync, and a pwrite to a file opened O_DSYNC or O_SYNC (LMDB writes
 * its meta page so, a flush of its own). What is emulated is a slow
 * flush's latency, the cost a group commit exists to share; not a slow
 * disk's throughput, nor its stalls. For benchmarks (bench/smoke runs
 * it once so that it keeps working), never under a timed test.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long delay_us;
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);

__attribute__((constructor)) static void slowsync_init(void)
{
	const char *v = getenv("BENCH_SYNC_DELAY_US");

	delay_us = v ? strtol(v, NULL, 10) : 0;
	real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	real_pwrite = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
}

/* The flush's extra cost; errno as the flush left it. */
static void slow(void)
{
	struct timespec ts = { delay_us / 1000000, (delay_us % 1000000) * 1000 };
	int saved = errno;

	if (delay_us > 0)
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	errno = saved;
}

int fsync(int fd)
{
	int rc = real_fsync(fd);

	slow();
	return rc;
}

int fdatasync(int fd)
{
	int rc = real_fdatasync(fd);

	slow();
	return rc;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	ssize_t rc = real_pwrite(fd, buf, n, off);
	int saved = errno, fl = fcntl(fd, F_GETFL);

	errno = saved;
	if (fl != -1 && (fl & (O_DSYNC | O_SYNC)))
		slow();
	return rc;
}

/* glibc's 64-bit name for the same call (off_t is 64 bits here) */
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite(fd, buf, n, off);
}
