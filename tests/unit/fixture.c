/* fixture.c: see fixture.h. */
#define _GNU_SOURCE
#include "fixture.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/vendor.h"

#define PMS_JSON "\"pms\":{\"type\":\"storeganise\",\"base_url\":\"http://sim/storeganise/api\"," \
	"\"api_key_env\":\"K\"}"

int fx_setup(void **state)
{
	*state = NULL;
	return 0;
}

int fx_teardown(void **state)
{
	struct fx *f = *state;

	if (!f)
		return 0;
	if (f->planned)
		snap_groups_free(&f->groups);
	site_plan_free(&f->sp);
	pms_snapshot_free(&f->snap);
	pms_recs_free(&f->last);
	rc_map_free(&f->touched.rentals);
	rc_map_free(&f->touched.owners);
	spec_free(f->spec);
	free(f);
	*state = NULL;
	return 0;
}

struct fx *fx_new(void **state, const char *vendor, const char *settings)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct rc_err err;
	struct pms_site *s;
	char *text;

	text = rc_sprintf("{\"version\":1,\"state_dir\":\"/nonexistent\"," PMS_JSON ",\"sites\":[{"
			  "\"name\":\"s1\",\"pms_site_id\":\"S1\",\"vendor\":\"%s\",\"%s\":%s}]}",
			  vendor, vendor, settings);
	rc_err_clear(&err);
	if (spec_load_buf(text, strlen(text), "fixture.json", vendor_specs(), &f->spec, &err))
		fail_msg("fixture spec: %s", err.msg);
	free(text);
	*state = f;
	f->site = &f->spec->sites[0];
	pms_snapshot_init(&f->snap);
	pms_recs_init(&f->last);
	s = pms_add_site(&f->snap);
	s->id = "S1";
	site_plan_init(&f->sp, f->site);
	return f;
}

const char *fx_str(struct fx *f, const char *s)
{
	return rc_arena_strdup(&f->snap.arena, s);
}

struct pms_cfs fx_cfs(struct fx *f, ...)
{
	struct pms_cfs c = { NULL, 0 };
	const char *kv[16];
	va_list ap;
	unsigned i;

	va_start(ap, f);
	for (c.n = 0; c.n < 16; c.n++) {
		kv[c.n] = va_arg(ap, const char *);
		if (!kv[c.n])
			break;
	}
	va_end(ap);
	c.v = rc_arena_alloc(&f->snap.arena, (c.n + 1) * sizeof(*c.v));
	for (i = 0; i < c.n; i++) {
		const char *eq = strchr(kv[i], '=');
		size_t n = strlen(kv[i]);

		c.v[i].bad = !eq && n > 2 && !strcmp(kv[i] + n - 2, "{}");
		if (c.v[i].bad) { /* "code{}": an object (model.h) */
			c.v[i].code = rc_arena_strndup(&f->snap.arena, kv[i], n - 2);
			c.v[i].val = NULL;
			continue;
		}
		c.v[i].code = rc_arena_strndup(&f->snap.arena, kv[i], (size_t)(eq - kv[i]));
		c.v[i].val = fx_str(f, eq + 1);
	}
	return c;
}

struct pms_unit *fx_unit(struct fx *f, const char *id, const char *name, const char *map)
{
	const char *field = vendor_field(f->site, vendor_of(f->site)->map_field);
	struct pms_unit *u = pms_add_unit(&f->snap);
	char *kv;

	u->id = fx_str(f, id);
	u->site_id = "S1";
	u->name = fx_str(f, name);
	if (map && !*map)
		return u;
	kv = rc_sprintf("%s=%s", field, map ? map : name);
	u->cf = fx_cfs(f, kv, NULL);
	free(kv);
	return u;
}

struct pms_rental *fx_rent_to(struct fx *f, const char *id, const char *unit_id,
			      const char *owner, bool overdue)
{
	struct pms_rental *r = pms_add_rental(&f->snap);

	r->id = fx_str(f, id);
	r->unit_id = fx_str(f, unit_id);
	r->site_id = "S1";
	r->owner_id = fx_str(f, owner);
	r->state = PMS_RENTAL_OCCUPIED;
	r->overdue = overdue;
	return r;
}

struct pms_rental *fx_rental(struct fx *f, const char *id, const char *unit_id,
			     const char *owner, bool overdue)
{
	struct pms_user *u = pms_add_user(&f->snap);

	u->id = fx_str(f, owner);
	u->first_name = "Ana";
	u->last_name = "Ruiz";
	u->email = "ana@example.com";
	u->phone = "+351 1";
	return fx_rent_to(f, id, unit_id, owner, overdue);
}

struct obs_unit *fx_ounit(struct fx *f, const char *name, enum vu_status st)
{
	struct obs_unit *u = obs_add_unit(&f->sp.obs, name);

	u->vendor_id = rc_arena_strdup(&f->sp.obs.arena, name);
	u->status = st;
	obs_site_index(&f->sp.obs);
	return obs_find_unit_mut(&f->sp.obs, name);
}

struct obs_tenant *fx_otenant(struct fx *f, const char *unit, const char *code,
			      const char *rental_id)
{
	struct obs_unit *u = obs_find_unit_mut(&f->sp.obs, unit);
	struct obs_tenant *t;

	assert_non_null(u);
	t = obs_add_tenant(&f->sp.obs, u);
	t->vendor_id = rc_arena_strdup(&f->sp.obs.arena, unit);
	t->first_name = "Ana";
	t->last_name = "Ruiz";
	t->email = "ana@example.com";
	t->phone = "+351 1";
	t->rental_id = rental_id;
	if (code) {
		fx_hash(f, code, t->code_hash);
		t->code_known = true;
	}
	return t;
}

struct pms_rec *fx_last(struct fx *f, const char *rental_id, bool overdue)
{
	struct pms_rec *r = pms_recs_add(&f->last);

	snprintf(r->rental_id, sizeof(r->rental_id), "%s", rental_id);
	r->overdue = r->overlocked = overdue;
	return r;
}

void fx_touch(struct fx *f, const char *rental_id, const char *owner)
{
	f->scoped = true;
	f->sp.scoped = true;
	rc_map_put(&f->touched.rentals, fx_str(f, rental_id), 1);
	rc_map_put(&f->touched.owners, fx_str(f, owner), 1);
}

static void hash_fn(void *payload, const char *site, const char *secret,
		    unsigned char out[RC_HASH_LEN])
{
	static const unsigned char key[] = "rule tests: a fixed key";
	unsigned char msg[256];
	size_t a = strlen(site), b = strlen(secret);
	unsigned int n = 0;

	(void)payload;
	assert_true(a + 1 + b <= sizeof(msg));
	memcpy(msg, site, a);
	msg[a] = 0;
	memcpy(msg + a + 1, secret, b);
	assert_non_null(HMAC(EVP_sha256(), key, sizeof(key) - 1, msg, a + 1 + b, out, &n));
}

void fx_hash(struct fx *f, const char *code, unsigned char out[RC_HASH_LEN])
{
	hash_fn(NULL, f->site->name, code, out);
}

void fx_plan(struct fx *f)
{
	struct rules_in in = { 0 };
	struct rc_err err;

	rc_err_clear(&err);
	assert_int_equal(pms_snapshot_index(&f->snap, &err), 0);
	obs_site_index(&f->sp.obs);
	pms_recs_index(&f->last);
	snap_groups_build(&f->groups, &f->snap);
	f->planned = true;
	f->sp.pms_site = pms_find_site(&f->snap, "S1");
	in.snap = &f->snap;
	in.groups = &f->groups;
	in.last = &f->last;
	in.hash = (struct rc_hasher){ hash_fn, NULL };
	in.regen_user = f->regen_user;
	in.touched = f->scoped ? &f->touched : NULL;
	if (rules_plan_site(&f->sp, &in, &err))
		fail_msg("plan: %s", err.msg);
}

const char *fx_ops(struct fx *f)
{
	static char buf[512];
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < f->sp.nops; i++) {
		const char *n = op_kind_name(f->sp.ops[i].kind);

		strcat(buf, i ? "," : "");
		strcat(buf, strchr(n, '.') + 1);
	}
	return buf;
}

size_t fx_findings(struct fx *f, enum finding_kind k)
{
	size_t i, n = 0;

	for (i = 0; i < f->sp.nfindings; i++)
		n += f->sp.findings[i].kind == k;
	return n;
}
