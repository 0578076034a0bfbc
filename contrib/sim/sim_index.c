/*
 * sim_index.c: hash indexes over the arrays of the simulator's state, so
 * that a lookup by id, by unit, by external reference... costs one hash
 * probe instead of a scan (see sim.h for the contract).
 *
 * An index is a jansson object: key text -> array of the objects with that
 * key, in the indexed array's order (appends go last in both, removals
 * keep the order). Indexes live in a small registry keyed by (array,
 * fields); each holds a reference to its array, so that an array freed
 * and another allocated at the same address can never be confused. A
 * global generation makes every index stale at once (sim_ix_invalidate);
 * a stale index is rebuilt on its next use.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define KEY_MAX 512

struct ix {
	json_t *arr;      /* the indexed array (own reference) */
	char *fields;     /* new */
	json_t *map;      /* key -> array of objects (new) or NULL */
	unsigned gen;     /* g_gen when built */
	bool is_max;      /* a "greatest integer" cache rather than a map */
	bool max_ok;      /* max is exact */
	json_int_t max;
	bool has_max;     /* some element has an integer value */
};

static struct ix *g_ix;
static size_t g_n, g_cap;
static unsigned g_gen = 1;

/* The member at a dotted path of o (borrowed) or NULL. */
static json_t *member(json_t *o, const char *path, size_t len)
{
	char name[128];
	const char *dot;
	size_t n;

	while (o && len) {
		dot = memchr(path, '.', len);
		n = dot ? (size_t)(dot - path) : len;
		if (n >= sizeof(name))
			return NULL;
		memcpy(name, path, n);
		name[n] = '\0';
		o = json_object_get(o, name);
		if (!dot)
			break;
		len -= n + 1;
		path = dot + 1;
	}
	return o;
}

/* The key text of o: the fields' texts joined by '\x1f'. */
static void key_of(json_t *o, const char *fields, char *buf, size_t n)
{
	const char *p = fields;
	size_t used = 0;
	char one[KEY_MAX];

	buf[0] = '\0';
	while (p) {
		const char *plus = strchr(p, '+');
		size_t len = plus ? (size_t)(plus - p) : strlen(p);

		sim_id_text(member(o, p, len), one, sizeof(one));
		used += (size_t)snprintf(buf + used, used < n ? n - used : 0, "%s%s",
					 p == fields ? "" : "\x1f", one);
		if (used >= n)
			break;
		p = plus ? plus + 1 : NULL;
	}
}

static void add_to(struct ix *x, json_t *o)
{
	char key[KEY_MAX];
	json_t *l, *v;

	if (x->is_max) {
		v = json_object_get(o, x->fields);
		if (x->max_ok && json_is_integer(v) &&
		    (!x->has_max || json_integer_value(v) > x->max)) {
			x->max = json_integer_value(v);
			x->has_max = true;
		}
		return;
	}
	key_of(o, x->fields, key, sizeof(key));
	l = json_object_get(x->map, key);
	if (!l) {
		l = json_array();
		json_object_set_new_nocheck(x->map, key, l);
	}
	json_array_append(l, o);
}

static void drop_from(struct ix *x, json_t *o)
{
	char key[KEY_MAX];
	json_t *l, *v;
	size_t i;

	if (x->is_max)
		return; /* a vendor's ids never go back: the greatest stays */
	key_of(o, x->fields, key, sizeof(key));
	l = json_object_get(x->map, key);
	json_array_foreach(l, i, v) {
		if (v == o) {
			json_array_remove(l, i);
			break;
		}
	}
	if (l && !json_array_size(l))
		json_object_del(x->map, key);
}

static void build(struct ix *x)
{
	json_t *o;
	size_t i;

	json_decref(x->map);
	x->map = x->is_max ? NULL : json_object();
	x->max_ok = true;
	/* a greatest id seen before the rebuild stays (deleted ids are not
	 * given again, as no vendor reuses them) */
	x->has_max = x->is_max && x->has_max;
	json_array_foreach(x->arr, i, o)
		add_to(x, o);
	x->gen = g_gen;
}

/* The index of arr by fields, built or rebuilt when needed (borrowed). */
static struct ix *get(json_t *arr, const char *fields, bool is_max)
{
	struct ix *x;
	size_t i;

	for (i = 0; i < g_n; i++) {
		x = &g_ix[i];
		if (x->arr == arr && x->is_max == is_max && !strcmp(x->fields, fields)) {
			if (x->gen != g_gen || !x->max_ok)
				build(x);
			return x;
		}
	}
	if (g_n == g_cap) {
		g_cap = g_cap ? 2 * g_cap : 16;
		g_ix = realloc(g_ix, g_cap * sizeof(*g_ix));
		if (!g_ix)
			abort();
	}
	x = &g_ix[g_n++];
	memset(x, 0, sizeof(*x));
	x->arr = json_incref(arr);
	x->fields = strdup(fields);
	x->is_max = is_max;
	if (!x->fields)
		abort();
	build(x);
	return x;
}

json_t *sim_ix_all(json_t *arr, const char *fields, const char *key)
{
	if (!json_is_array(arr) || !key)
		return NULL;
	return json_object_get(get(arr, fields, false)->map, key);
}

json_t *sim_ix_first(json_t *arr, const char *fields, const char *key)
{
	return json_array_get(sim_ix_all(arr, fields, key), 0);
}

json_int_t sim_ix_max(json_t *arr, const char *field, json_int_t floor)
{
	struct ix *x;

	if (!json_is_array(arr))
		return floor;
	x = get(arr, field, true);
	return x->has_max && x->max > floor ? x->max : floor;
}

void sim_ix_append(json_t *arr, json_t *o)
{
	size_t i;

	json_array_append_new(arr, o);
	for (i = 0; i < g_n; i++)
		if (g_ix[i].arr == arr && g_ix[i].gen == g_gen)
			add_to(&g_ix[i], o);
}

void sim_ix_remove(json_t *arr, json_t *o)
{
	json_t *v;
	size_t i;

	for (i = 0; i < g_n; i++)
		if (g_ix[i].arr == arr && g_ix[i].gen == g_gen)
			drop_from(&g_ix[i], o);
	/* from the end: removals are mostly of recent objects */
	for (i = json_array_size(arr); i-- > 0;) {
		v = json_array_get(arr, i);
		if (v == o) {
			json_array_remove(arr, i);
			return;
		}
	}
}

/* The key of o in x: its text, or for a greatest-value cache the value. */
static void key_in(struct ix *x, json_t *o, char *buf, size_t n)
{
	if (x->is_max)
		sim_id_text(json_object_get(o, x->fields), buf, n);
	else
		key_of(o, x->fields, buf, n);
}

void sim_ix_patch(json_t *arr, json_t *o, void (*fn)(json_t *o, void *p), void *p)
{
	char (*before)[KEY_MAX] = calloc(g_n ? g_n : 1, KEY_MAX), after[KEY_MAX];
	size_t i, n = g_n;

	if (!before)
		abort();
	for (i = 0; i < n; i++)
		if (g_ix[i].arr == arr && g_ix[i].gen == g_gen)
			key_in(&g_ix[i], o, before[i], KEY_MAX);
	fn(o, p);
	for (i = 0; i < n; i++) {
		if (g_ix[i].arr != arr || g_ix[i].gen != g_gen)
			continue;
		key_in(&g_ix[i], o, after, sizeof(after));
		if (strcmp(before[i], after))
			g_ix[i].gen = 0; /* stale: rebuilt on its next use */
	}
	free(before);
}

void sim_ix_invalidate(void)
{
	g_gen++;
}

void sim_ix_clear(void)
{
	size_t i;

	for (i = 0; i < g_n; i++) {
		json_decref(g_ix[i].arr);
		json_decref(g_ix[i].map);
		free(g_ix[i].fields);
	}
	free(g_ix);
	g_ix = NULL;
	g_n = g_cap = 0;
	g_gen++;
}
