/*
 * sim_faults.c: injected faults (contrib/sim/README.md, "Faults").
 *
 * Two kinds of configuration live side by side:
 *  - scripted faults (the original /_sim/faults): "the next N requests
 *    whose path contains X get status S, maybe after committing, maybe
 *    after a delay"; consumed in order, checked first;
 *  - rate rules: per API and route glob, the probability of each fault
 *    kind. The first rule that matches a request draws one number from its
 *    own generator (splitmix64, seeded per rule), so the same seed and the
 *    same sequence of requests give the same faults.
 * Callers hold the state lock.
 */
#define _GNU_SOURCE
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_core.h"

#define DEFAULT_DELAY_MS 20000
#define DEFAULT_RETRY_AFTER 1

struct rule {
	char api[32];            /* "" = any */
	char method[16];         /* "" = any */
	char path[256];          /* glob, "" = any */
	double rate[SF_N];
	int retry_after;         /* -1: no header */
	long delay_ms;
	uint64_t seed;           /* the generator's seed */
	uint64_t prng;           /* its state */
	unsigned long matched, hits[SF_N];
	json_t *spec;            /* the rule as given (new) */
};

static const char *const g_names[SF_N] = {
	"", "500", "502", "503", "429", "reset_before", "reset_after", "delay_before",
	"delay_after", "truncate", "truncate_json", "scripted",
};

static struct rule *g_rules;     /* new */
static size_t g_nrules;
static json_int_t g_seed;
static json_t *g_scripted;       /* array (new) */
static json_t *g_default;        /* the configuration /_sim/reset returns to (new) or NULL */
static uint64_t g_jitter;        /* generator for latency jitter */

const char *sim_fault_name(enum sim_fault_kind k)
{
	return k > SF_NONE && k < SF_N ? g_names[k] : "";
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

uint64_t sim_rand64(void)
{
	if (!g_jitter)
		RAND_bytes((unsigned char *)&g_jitter, sizeof(g_jitter));
	return splitmix64(&g_jitter);
}

/* '*' matches within one path segment, '**' across segments. */
static bool glob(const char *p, const char *s)
{
	while (*p) {
		if (*p == '*') {
			bool deep = p[1] == '*';
			const char *rest = p + (deep ? 2 : 1);

			for (;;) {
				if (glob(rest, s))
					return true;
				if (!*s || (!deep && *s == '/'))
					return false;
				s++;
			}
		}
		if (*s != *p)
			return false;
		p++;
		s++;
	}
	return !*s;
}

static void rules_free(struct rule *rules, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		json_decref(rules[i].spec);
	free(rules);
}

/* ------------------------------------------------------------ decide */

static char *answer_body(json_t *body, const char *kind)
{
	json_t *b = body ? json_incref(body)
			 : json_pack("{s:s, s:s}", "message", "injected fault", "fault", kind);
	char *s = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY);

	json_decref(b);
	return s;
}

/* The first scripted fault for this request, consumed. */
static bool scripted(const char *method, const char *path, struct sim_fault *out)
{
	json_t *f, *ra;
	size_t i;

	json_array_foreach(g_scripted, i, f) {
		const char *m = json_string_value(json_object_get(f, "method"));
		const char *pc = json_string_value(json_object_get(f, "path_contains"));
		json_int_t times = json_integer_value(json_object_get(f, "times"));

		if (!json_object_get(f, "times"))
			times = 1;
		if (times == 0 || (m && strcasecmp(m, method)) || (pc && !strstr(path, pc)))
			continue;
		if (times > 0)
			json_object_set_new(f, "times", json_integer(times - 1));
		out->kind = SF_SCRIPTED;
		out->status = (int)json_integer_value(json_object_get(f, "status"));
		ra = json_object_get(f, "retry_after");
		out->retry_after = json_is_integer(ra) ? (int)json_integer_value(ra) : -1;
		out->delay_ms = (long)json_integer_value(json_object_get(f, "delay_ms"));
		out->commit = json_is_true(json_object_get(f, "commit"));
		if (out->status > 0)
			out->body = answer_body(json_object_get(f, "body"), "scripted");
		return true;
	}
	return false;
}

static bool rule_matches(const struct rule *r, const char *api, const char *method,
			 const char *path)
{
	return (!r->api[0] || !strcmp(r->api, api)) &&
	       (!r->method[0] || !strcasecmp(r->method, method)) &&
	       (!r->path[0] || glob(r->path, path));
}

void sim_faults_decide(const char *api, const char *method, const char *path,
		       struct sim_fault *out)
{
	struct rule *r;
	double u, cum = 0;
	size_t i;
	int k;

	memset(out, 0, sizeof(*out));
	out->retry_after = -1;
	if (scripted(method, path, out))
		return;
	for (i = 0; i < g_nrules && !rule_matches(&g_rules[i], api, method, path); i++)
		;
	if (i == g_nrules)
		return;
	r = &g_rules[i];
	r->matched++;
	u = (double)(splitmix64(&r->prng) >> 11) * 0x1.0p-53;
	for (k = SF_500; k < SF_SCRIPTED; k++) {
		cum += r->rate[k];
		if (u < cum)
			break;
	}
	if (k == SF_SCRIPTED)
		return;
	r->hits[k]++;
	out->kind = (enum sim_fault_kind)k;
	out->delay_ms = r->delay_ms;
	if (k <= SF_429) {
		out->status = atoi(g_names[k]);
		out->body = answer_body(NULL, g_names[k]);
		if (k == SF_503 || k == SF_429)
			out->retry_after = r->retry_after;
	}
}

void sim_fault_free(struct sim_fault *f)
{
	free(f->body);
	f->body = NULL;
}

/* ------------------------------------------------------------- parse */

static bool known_api(const char *name)
{
	const struct sim_api *a;

	for (a = sim_apis; a->prefix; a++)
		if (!strcmp(a->name, name))
			return true;
	return false;
}

/* A route: an optional method ("*" = any) and a space, then a path glob
 * (see glob()) or "*" for every path. */
static int parse_route(const char *route, struct rule *r, char *err, size_t n)
{
	const char *sp = strchr(route, ' ');
	size_t ml = sp ? (size_t)(sp - route) : 0;

	if (sp && (ml >= sizeof(r->method) || !ml)) {
		snprintf(err, n, "route \"%s\": bad method", route);
		return -1;
	}
	if (sp) {
		memcpy(r->method, route, ml);
		r->method[ml] = '\0';
		if (!strcmp(r->method, "*"))
			r->method[0] = '\0';
		route = sp + 1;
	}
	if (strlen(route) >= sizeof(r->path) || (route[0] != '/' && strcmp(route, "*"))) {
		snprintf(err, n, "route \"%s\": the path must start with / (or be *)", route);
		return -1;
	}
	snprintf(r->path, sizeof(r->path), "%s", strcmp(route, "*") ? route : "");
	return 0;
}

static int parse_rates(json_t *rates, struct rule *r, char *err, size_t n)
{
	const char *k;
	json_t *v;
	double sum = 0;
	int i;

	if (!json_is_object(rates)) {
		snprintf(err, n, "a rule needs \"rates\": {kind: 0..1}");
		return -1;
	}
	json_object_foreach(rates, k, v) {
		for (i = SF_500; i < SF_SCRIPTED && strcmp(g_names[i], k); i++)
			;
		if (i == SF_SCRIPTED || !json_is_number(v) || json_number_value(v) < 0 ||
		    json_number_value(v) > 1) {
			snprintf(err, n, "rates: \"%s\" is not a fault kind with a rate in 0..1", k);
			return -1;
		}
		r->rate[i] = json_number_value(v);
		sum += r->rate[i];
	}
	if (sum > 1 + 1e-9) {
		snprintf(err, n, "rates add up to %g, more than 1", sum);
		return -1;
	}
	return 0;
}

static int int_opt(json_t *j, const char *key, json_int_t min, json_int_t def, json_int_t *v,
		   char *err, size_t n)
{
	json_t *x = json_object_get(j, key);

	*v = def;
	if (!x)
		return 0;
	if (!json_is_integer(x) || json_integer_value(x) < min) {
		snprintf(err, n, "\"%s\" must be an integer >= %lld", key, (long long)min);
		return -1;
	}
	*v = json_integer_value(x);
	return 0;
}

static int parse_rule(json_t *j, size_t idx, json_int_t top_seed, struct rule *r, char *err,
		      size_t n)
{
	static const char *const keys[] = { "api", "route", "rates", "retry_after", "delay_ms",
					    "seed", "matched", "faults", NULL };
	const char *k, *api = json_string_value(json_object_get(j, "api"));
	const char *route = json_string_value(json_object_get(j, "route"));
	json_int_t ra, dm, seed;
	json_t *v;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(j)) {
		snprintf(err, n, "rule %zu is not an object", idx);
		return -1;
	}
	json_object_foreach(j, k, v) {
		for (i = 0; keys[i] && strcmp(keys[i], k); i++)
			;
		if (!keys[i]) {
			snprintf(err, n, "rule %zu: unknown key \"%s\"", idx, k);
			return -1;
		}
	}
	if ((json_object_get(j, "api") && !api) || (api && !known_api(api))) {
		snprintf(err, n, "rule %zu: unknown api", idx);
		return -1;
	}
	if (json_object_get(j, "route") && !route) {
		snprintf(err, n, "rule %zu: route is a string", idx);
		return -1;
	}
	if (route && parse_route(route, r, err, n))
		return -1;
	if (parse_rates(json_object_get(j, "rates"), r, err, n) ||
	    int_opt(j, "retry_after", -1, DEFAULT_RETRY_AFTER, &ra, err, n) ||
	    int_opt(j, "delay_ms", 0, DEFAULT_DELAY_MS, &dm, err, n) ||
	    int_opt(j, "seed", 0, -1, &seed, err, n))
		return -1;
	snprintf(r->api, sizeof(r->api), "%s", api ? api : "");
	r->retry_after = (int)ra;
	r->delay_ms = (long)dm;
	/* no seed of its own: one derived from the top-level seed and the
	 * position, below 2^53 so that GET shows it exactly */
	r->seed = seed >= 0 ? (uint64_t)seed
			    : ((uint64_t)top_seed ^ ((uint64_t)(idx + 1) * 0xD1B54A32D192ED03ull)) &
			      ((1ull << 53) - 1);
	r->prng = r->seed;
	r->spec = json_deep_copy(j);
	json_object_del(r->spec, "matched");
	json_object_del(r->spec, "faults");
	return 0;
}

/* ------------------------------------------------------ configuration */

/* A parsed configuration, not yet in force. */
struct config {
	struct rule *rules;      /* new */
	size_t n;
	json_int_t seed;
	json_t *scripted;        /* new array */
};

static bool is_config(json_t *j)
{
	return json_is_object(j) && (json_object_get(j, "rules") || json_object_get(j, "seed") ||
				     json_object_get(j, "scripted"));
}

static int check_keys(json_t *j, char *err, size_t n)
{
	const char *k;
	json_t *v;

	json_object_foreach(j, k, v) {
		if (strcmp(k, "seed") && strcmp(k, "rules") && strcmp(k, "scripted")) {
			snprintf(err, n, "unknown key \"%s\" (seed, rules, scripted)", k);
			return -1;
		}
	}
	return 0;
}

static int parse_config(json_t *j, struct config *c, char *err, size_t n)
{
	json_t *rules = json_object_get(j, "rules"), *sc = json_object_get(j, "scripted"), *v;
	uint32_t rnd = 0;
	size_t i;

	memset(c, 0, sizeof(*c));
	if (check_keys(j, err, n) || int_opt(j, "seed", 0, -1, &c->seed, err, n))
		return -1;
	if ((rules && !json_is_array(rules)) || (sc && !json_is_array(sc))) {
		snprintf(err, n, "rules and scripted are arrays");
		return -1;
	}
	if (c->seed < 0) {
		RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
		c->seed = rnd;
	}
	c->rules = calloc(json_array_size(rules) + 1, sizeof(*c->rules));
	if (!c->rules)
		abort();
	json_array_foreach(rules, i, v) {
		if (parse_rule(v, i, c->seed, &c->rules[i], err, n)) {
			rules_free(c->rules, i);
			c->rules = NULL;
			return -1;
		}
		c->n++;
	}
	c->scripted = sc ? json_deep_copy(sc) : json_array();
	return 0;
}

static void install(struct config *c)
{
	rules_free(g_rules, g_nrules);
	g_rules = c->rules;
	g_nrules = c->n;
	g_seed = c->seed;
	json_decref(g_scripted);
	g_scripted = c->scripted;
}

int sim_faults_post(json_t *body, char *err, size_t n)
{
	struct config c;
	json_t *f;
	size_t i;

	if (is_config(body)) {
		if (parse_config(body, &c, err, n))
			return -1;
		install(&c);
		return 0;
	}
	if (!json_is_array(body) && !json_is_object(body)) {
		snprintf(err, n, "a fault configuration, or scripted faults, as JSON");
		return -1;
	}
	json_array_foreach(body, i, f) {
		if (!json_is_object(f)) {
			snprintf(err, n, "scripted fault %zu is not an object", i);
			return -1;
		}
	}
	if (!g_scripted)
		g_scripted = json_array();
	if (json_is_array(body))
		json_array_extend(g_scripted, body);
	else
		json_array_append(g_scripted, body);
	return 0;
}

json_t *sim_faults_get(void)
{
	json_t *rules = json_array(), *o, *hits;
	size_t i;
	int k;

	for (i = 0; i < g_nrules; i++) {
		o = json_deep_copy(g_rules[i].spec);
		hits = json_object();
		for (k = SF_500; k < SF_SCRIPTED; k++)
			if (g_rules[i].hits[k])
				json_object_set_new(hits, g_names[k], json_integer((json_int_t)g_rules[i].hits[k]));
		json_object_set_new(o, "seed", json_integer((json_int_t)g_rules[i].seed));
		json_object_set_new(o, "matched", json_integer((json_int_t)g_rules[i].matched));
		json_object_set_new(o, "faults", hits);
		json_array_append_new(rules, o);
	}
	return json_pack("{s:I, s:o, s:o}", "seed", g_seed, "rules", rules, "scripted",
			 g_scripted ? json_deep_copy(g_scripted) : json_array());
}

void sim_faults_clear(void)
{
	rules_free(g_rules, g_nrules);
	g_rules = NULL;
	g_nrules = 0;
	g_seed = 0;
	json_decref(g_scripted);
	g_scripted = json_array();
}

void sim_faults_reset(void)
{
	json_t *copy = g_default ? json_deep_copy(g_default) : NULL;
	char err[256];

	sim_faults_clear();
	if (copy && sim_faults_post(copy, err, sizeof(err)))
		fprintf(stderr, "reconcile-sim: default faults: %s\n", err); /* checked when set */
	json_decref(copy);
}

int sim_faults_set_default(json_t *cfg, char *err, size_t n)
{
	struct config c;

	if (is_config(cfg)) {
		if (parse_config(cfg, &c, err, n))
			return -1;
		rules_free(c.rules, c.n);
		json_decref(c.scripted);
	} else if (cfg && !json_is_array(cfg) && !json_is_object(cfg)) {
		snprintf(err, n, "faults: a configuration object or an array of scripted faults");
		return -1;
	}
	json_decref(g_default);
	g_default = cfg ? json_deep_copy(cfg) : NULL;
	sim_faults_reset();
	return 0;
}

void sim_faults_free(void)
{
	sim_faults_clear();
	json_decref(g_scripted);
	g_scripted = NULL;
	json_decref(g_default);
	g_default = NULL;
}
