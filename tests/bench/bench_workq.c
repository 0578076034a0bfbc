/*
 * bench_workq.c: the serve work queue with many keys: N unit keys added,
 * then taken and done in batches of W running at once (as the serve loop
 * does with W workers), every tenth key failing once and every fifth added
 * again while running.
 *
 *   build/bench_workq [keys] [workers]     (default 1000000 x 64)
 *
 * Prints operations/s per phase; a take or done is O(log queued), so the
 * rates should barely move from 10^5 to 10^6 keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/workq.h"

static const char usage[] =
"Usage: bench_workq [keys] [workers]     (default 1000000 x 64)\n"
"\n"
"The serve work queue: keys added, then taken and done in batches of\n"
"`workers` running at once; prints operations/s per phase. Never run by\n"
"ctest (but by bench/smoke at a tiny size).\n";

/* A positive count from argv, or exit 2 with the usage. */
static size_t count_arg(int argc, char **argv, int i, size_t dflt)
{
	char *end;
	size_t v;

	if (argc <= i)
		return dflt;
	v = strtoul(argv[i], &end, 10);
	if (end == argv[i] || *end || *argv[i] == '-' || !v) {
		fputs(usage, stderr);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	size_t nkeys, nwork;
	const char **running;
	struct workq q;
	char key[32];
	double t0, t1, t2, now = 1, wait;
	size_t i, n, ops = 0;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage, stdout);
		return 0;
	}
	nkeys = count_arg(argc, argv, 1, 1000000);
	nwork = count_arg(argc, argv, 2, 64);
	running = rc_calloc(nwork, sizeof(*running));
	workq_init(&q, 1e12, 1e12);
	t0 = rc_now_mono();
	for (i = 0; i < nkeys; i++) {
		snprintf(key, sizeof(key), "unit:%zu", i);
		workq_add(&q, key, now);
	}
	t1 = rc_now_mono();
	for (;;) {
		for (n = 0; n < nwork; n++) {
			running[n] = workq_take(&q, now, &wait);
			if (!running[n])
				break;
		}
		if (!n) {
			if (wait < 0)
				break;
			now += wait;  /* a virtual clock: backoffs cost no real time */
			continue;
		}
		for (i = 0; i < n; i++) {
			ops++;
			if (ops % 5 == 0)
				workq_add(&q, running[i], now);
			workq_done(&q, running[i], ops % 10 != 0, now);
		}
	}
	t2 = rc_now_mono();
	printf("bench_workq: %zu keys, %zu workers: add %.2f s (%.0f adds/s), "
	       "take+done %.2f s (%.0f take+done/s, %lu processed), depth %zu, live %zu\n",
	       nkeys, nwork, t1 - t0, (double)nkeys / (t1 - t0), t2 - t1,
	       (double)ops / (t2 - t1), ops, workq_depth(&q), q.live);
	workq_free(&q);
	free(running);
	return 0;
}
