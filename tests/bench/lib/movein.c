/* movein.c: see movein.h. */
#define _GNU_SOURCE
#include "movein.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "gen.h"

void movein_add(struct e2e *t, unsigned k, unsigned i)
{
	char user[32], rental[32], unit[32], site[16];

	snprintf(user, sizeof(user), "cm%u-%u", k, i);
	movein_rental(k, i, rental, sizeof(rental));
	snprintf(unit, sizeof(unit), "u%u-%u", k, i);
	snprintf(site, sizeof(site), "sg%u", k);
	json_decref(sim_post(t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:n, s:{}}}",
		"collection", "storeganise.users", "object", "id", user, "firstName", "New",
		"lastName", rental, "email", "new@example.com", "phone", "+351 910000000",
		"overdue", "customFields")));
	json_decref(sim_post(t, "/_sim/insert", json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:{}}}",
		"collection", "storeganise.unitRentals", "object", "id", rental, "unitId", unit,
		"siteId", site, "ownerId", user, "state", "occupied", "startDate", "2026-12-01",
		"overdue", "customFields")));
	sim_patch(t, "storeganise.units", unit, json_pack("{s:s}", "state", "occupied"));
}

const char *movein_rental(unsigned k, unsigned i, char *buf, size_t n)
{
	snprintf(buf, n, "m%u-%u", k, i);
	return buf;
}

bool movein_is_create(json_t *e)
{
	const char *m = json_string_value(json_object_get(e, "method"));
	const char *p = json_string_value(json_object_get(e, "path"));
	long st = (long)json_integer_value(json_object_get(e, "status"));
	unsigned fid;
	int end = 0;

	return m && p && !strcmp(m, "POST") && st >= 200 && st <= 299 &&
	       sscanf(p, "/opentech/facilities/%u/visitors%n", &fid, &end) == 1 && !p[end];
}

long long movein_max_visitor(struct e2e *t)
{
	json_t *ot = sim_state_of(t, "opentech"), *v;
	long long max = 0;
	size_t i;

	json_array_foreach(json_object_get(ot, "visitors"), i, v)
		if (json_integer_value(json_object_get(v, "id")) > max)
			max = json_integer_value(json_object_get(v, "id"));
	json_decref(ot);
	return max;
}

unsigned movein_wait_creates(struct e2e *t, unsigned want, unsigned timeout)
{
	double end = bench_now() + timeout;
	json_t *log, *e;
	unsigned got = 0;
	size_t i;

	while (want && bench_now() < end) {
		/* first a pause: a dump of the simulator's log while the last
		 * move-in is still under way would slow the simulator's answers
		 * to it (its measured latency) */
		usleep(200000);
		log = bench_sim_requests(t);
		got = 0;
		json_array_foreach(log, i, e)
			got += movein_is_create(e);
		json_decref(log);
		if (got >= want)
			return got;
	}
	if (want)
		fprintf(stderr, "  %u of %u move-ins reached the vendor in %u s\n", got, want, timeout);
	return got;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* The new visitors' unit ids, in creation (id) order (new). */
static long long *new_visitors(json_t *visitors, long long base, size_t *n)
{
	long long (*v)[2] = rc_calloc(json_array_size(visitors) + 1, sizeof(*v));
	long long *units;
	size_t i;
	json_t *o;

	*n = 0;
	json_array_foreach(visitors, i, o) {
		if (json_integer_value(json_object_get(o, "id")) <= base)
			continue;
		v[*n][0] = json_integer_value(json_object_get(o, "id"));
		v[(*n)++][1] = json_integer_value(json_object_get(o, "unitId"));
	}
	qsort(v, *n, sizeof(*v), cmp_ll);
	units = rc_calloc(*n + 1, sizeof(*units));
	for (i = 0; i < *n; i++)
		units[i] = v[i][1];
	free(v);
	return units;
}

void movein_match(json_t *log, json_t *visitors, long long base, double off, unsigned nsites,
		  unsigned units, unsigned (*mi)[2], unsigned nmi, struct mi_time *out)
{
	size_t nv = 0, i, c = 0;
	long long *vu = new_visitors(visitors, base, &nv);
	unsigned *idx = rc_calloc((size_t)nsites * units + 1, sizeof(unsigned)), k, u, j;
	json_t *e;

	for (j = 0; j < nmi; j++)
		idx[mi[j][0] * units + mi[j][1]] = j + 1;
	json_array_foreach(log, i, e) {
		if (!movein_is_create(e) || c >= nv)
			continue;
		if (!gen_ot_unit_of(vu[c++], &k, &u) && k < nsites && u < units && idx[k * units + u]) {
			j = idx[k * units + u] - 1;
			out[j].at = json_real_value(json_object_get(e, "at")) + off;
			out[j].answered = json_real_value(json_object_get(e, "answered")) + off;
		}
	}
	free(idx);
	free(vu);
}
