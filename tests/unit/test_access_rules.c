/*
 * test_access_rules.c: one test per rule of access-rules.md (R1-R10,
 * OT1-OT6), in process: a PMS snapshot and an observed OpenTech state are
 * built by hand, then desired_collect + diff_opentech run as in a plan.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "reconciler/diff.h"
#include "providers/provider.h"

/* ------------------------------------------------------------ fixture */

struct fx {
	char dir[4096];
	struct store *store;
	struct spec_site site;
	struct pms_snapshot snap;
	struct snap_groups g;
	struct site_plan sp;
	struct desired_site d;
	bool built;
	const struct rc_map *scope;   /* a scoped plan (serve webhooks) */
};

/* A new directory under $TMPDIR (/tmp when unset or empty). */
static void make_tmpdir(char *dir, size_t len, const char *name)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, len, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	assert_non_null(mkdtemp(dir));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* rm -rf dir, unless E2E_KEEP=1 (then say where it is). */
static int remove_tmpdir(const char *dir)
{
	const char *keep = getenv("E2E_KEEP");

	if (keep && *keep && strcmp(keep, "0") != 0) {
		fprintf(stderr, "kept %s\n", dir);
		return 0;
	}
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct rc_err err;
	struct pms_site *s;

	make_tmpdir(f->dir, sizeof(f->dir), "reconcile-rules");
	assert_int_equal(store_open(&f->store, f->dir, &err), 0);
	f->site.name = "s1";
	f->site.pms_site_id = "S1";
	f->site.vendor = VENDOR_OPENTECH;
	f->site.max_destructive = 0.10;
	f->site.max_destructive_min = 3;
	f->site.code_length = 6;
	f->site.fields.ot_unit_id = "opentech_unitId";
	f->site.fields.ot_access_profile = "opentech_accessProfileId";
	f->site.fields.ot_time_group = "opentech_timeGroupId";
	f->site.fields.ot_access_code = "opentech_accessCode";
	f->site.fields.ot_overlocked = "opentech_overlocked";
	f->site.fields.ot_resync = "opentech_resync";
	f->site.opentech.access_profile_id = -1;
	f->site.opentech.time_group_id = -1;
	pms_snapshot_init(&f->snap);
	s = pms_add_site(&f->snap);
	s->id = "S1";
	site_plan_init(&f->sp, &f->site);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	desired_free(&f->d);
	if (f->built)
		snap_groups_free(&f->g);
	site_plan_free(&f->sp);
	pms_snapshot_free(&f->snap);
	store_close(f->store);
	assert_int_equal(remove_tmpdir(f->dir), 0);
	free(f);
	return 0;
}

static const char *S(struct fx *f, const char *s)
{
	return rc_arena_strdup(&f->snap.arena, s);
}

/* Custom fields from "code=value" pairs, NULL-terminated. */
static struct pms_cfs cfs(struct fx *f, ...)
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

		c.v[i].code = rc_arena_strndup(&f->snap.arena, kv[i], (size_t)(eq - kv[i]));
		c.v[i].val = S(f, eq + 1);
	}
	return c;
}

/* A unit named name, mapped to itself unless map is given ("" = unmapped). */
static void unit(struct fx *f, const char *id, const char *name, const char *map)
{
	struct pms_unit *u = pms_add_unit(&f->snap);
	char buf[80];

	u->id = S(f, id);
	u->site_id = "S1";
	u->name = S(f, name);
	snprintf(buf, sizeof(buf), "opentech_unitId=%s", map ? map : name);
	u->cf = (map && !*map) ? (struct pms_cfs){ NULL, 0 } : cfs(f, buf, NULL);
}

static struct pms_rental *rental(struct fx *f, const char *id, const char *unit_id,
				 const char *owner, bool overdue)
{
	struct pms_rental *r = pms_add_rental(&f->snap);
	struct pms_user *u = pms_add_user(&f->snap);

	r->id = S(f, id);
	r->unit_id = S(f, unit_id);
	r->site_id = "S1";
	r->owner_id = S(f, owner);
	r->state = PMS_RENTAL_OCCUPIED;
	r->overdue = overdue;
	u->id = r->owner_id;
	u->first_name = "Ana";
	u->last_name = "Ruiz";
	u->email = "ana@example.com";
	u->phone = "+351 1";
	return r;
}

static struct obs_unit *ounit(struct fx *f, const char *name, enum vu_status st)
{
	struct obs_unit *u = obs_add_unit(&f->sp.obs, name);

	u->vendor_id = rc_arena_strdup(&f->sp.obs.arena, name);
	u->status = st;
	obs_site_index(&f->sp.obs);
	return obs_find_unit_mut(&f->sp.obs, name);
}

/* A tenant in sync with rental() (code given, or not known). */
static struct obs_tenant *otenant(struct fx *f, const char *uname, const char *code,
				  const char *rental_id)
{
	struct obs_unit *u = obs_find_unit_mut(&f->sp.obs, uname);
	struct obs_tenant *t;

	assert_non_null(u);
	t = obs_add_tenant(&f->sp.obs, u);
	t->vendor_id = rc_arena_strdup(&f->sp.obs.arena, uname);
	t->first_name = "Ana";
	t->last_name = "Ruiz";
	t->email = "ana@example.com";
	t->phone = "+351 1";
	t->rental_id = rental_id;
	if (code) {
		store_secret_hash(f->store, "s1", code, t->code_hash);
		t->code_known = true;
	}
	return t;
}

/* Plan the site; prev records (rental id -> overdue) are stored first. */
static void plan(struct fx *f, const char *const prev_overdue[])
{
	struct store_txn *t = NULL;
	struct diff_ctx dc = { 0 };
	struct rc_err err;
	size_t i;

	if (prev_overdue) {
		assert_int_equal(store_txn_begin(f->store, true, &t, &err), 0);
		for (i = 0; prev_overdue[i]; i++) {
			struct store_pms_rec r = { 0 };

			snprintf(r.rental_id, sizeof(r.rental_id), "%s", prev_overdue[i]);
			r.overdue = r.overlocked = true;
			assert_int_equal(store_pms_put(t, "s1", &r, &err), 0);
		}
		assert_int_equal(store_txn_commit(t, &err), 0);
	}
	assert_int_equal(pms_snapshot_index(&f->snap, &err), 0);
	obs_site_index(&f->sp.obs);
	snap_groups_build(&f->g, &f->snap);
	f->built = true;
	f->sp.pms_site = pms_find_site(&f->snap, "S1");
	assert_int_equal(store_txn_begin(f->store, false, &t, &err), 0);
	assert_int_equal(desired_collect(&f->sp, &f->snap, &f->g, "opentech_unitId",
					 "opentech_overlocked", DC_NAME_CHECK | DC_UNIQUE_MAP, t, &f->d, NULL, &err), 0);
	store_txn_abort(t);
	dc.sp = &f->sp;
	dc.store = f->store;
	assert_int_equal(diff_opentech(&dc, &f->d), 0);
}

/* "create,disable,..." of the ops, for exact comparisons. */
static const char *ops(struct fx *f)
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

static size_t findings(struct fx *f, enum finding_kind k)
{
	size_t i, n = 0;

	for (i = 0; i < f->sp.nfindings; i++)
		n += f->sp.findings[i].kind == k;
	return n;
}

/* ------------------------------------------------------------- common */

static void test_R1_managed_units(void **state)
{
	struct fx *f = *state;

	unit(f, "u1", "A1", "");          /* unmapped and rented */
	unit(f, "u2", "A2", "");          /* unmapped and vacant */
	rental(f, "r1", "u1", "c1", false);
	ounit(f, "A1", VU_VACANT);
	ounit(f, "A2", VU_RENTED);        /* would be vacated if it were managed */
	plan(f, NULL);
	assert_string_equal(ops(f), "");
	assert_int_equal(f->sp.managed, 0);
	assert_int_equal(findings(f, FIND_UNMANAGED_RENTED), 1);
}

static void test_R2_mapping(void **state)
{
	struct fx *f = *state;
	struct pms_rental *r;

	unit(f, "u1", "A1", "B-1");       /* differs from the name: synced, warned */
	unit(f, "u2", "A2", "NOPE");      /* names no vendor unit */
	unit(f, "u3", "A3", "DUP");       /* two units map to DUP */
	unit(f, "u4", "A4", "DUP");
	r = rental(f, "r1", "u1", "c1", false);
	r->cf = cfs(f, "opentech_accessCode=482913", NULL);
	rental(f, "r2", "u2", "c2", false);
	rental(f, "r3", "u3", "c3", false);
	ounit(f, "B-1", VU_VACANT);
	ounit(f, "DUP", VU_VACANT);
	plan(f, NULL);
	assert_string_equal(ops(f), "create");
	assert_string_equal(f->sp.ops[0].unit, "B-1");
	assert_int_equal(findings(f, FIND_NAME_MISMATCH), 4);
	assert_int_equal(findings(f, FIND_NO_VENDOR_UNIT), 1);
	assert_int_equal(findings(f, FIND_DUPLICATE_MAPPING), 2);
}

static void test_R3_occupancy(void **state)
{
	struct fx *f = *state;
	struct pms_rental *r;

	unit(f, "u1", "A1", NULL);
	unit(f, "u2", "A2", NULL);
	unit(f, "u3", "A3", NULL);
	r = rental(f, "r1", "u1", "c1", false);
	r->state = PMS_RENTAL_RESERVED;   /* not yet moved in: vacant */
	r = rental(f, "r2", "u2", "c2", false);
	r->state = PMS_RENTAL_ENDED;      /* moved out: vacant */
	rental(f, "r3", "u3", "c3", false);
	rental(f, "r4", "u3", "c4", false); /* second occupied rental: error */
	ounit(f, "A1", VU_VACANT);
	ounit(f, "A2", VU_RENTED);
	otenant(f, "A2", "111", "r2");
	ounit(f, "A3", VU_VACANT);
	plan(f, NULL);
	assert_string_equal(ops(f), "vacate");
	assert_string_equal(f->sp.ops[0].unit, "A2");
	assert_int_equal(findings(f, FIND_DOUBLE_OCCUPANCY), 1);
}

static void test_R4_delinquency_overdue_turns_on(void **state)
{
	struct fx *f = *state;
	struct pms_rental *r;

	unit(f, "u1", "A1", NULL);
	r = rental(f, "r1", "u1", "c1", true);
	r->cf = cfs(f, "opentech_accessCode=482913", NULL);
	ounit(f, "A1", VU_RENTED);
	otenant(f, "A1", "482913", "r1");
	plan(f, NULL);
	assert_string_equal(ops(f), "disable,write");
	assert_int_equal(f->sp.ops[1].w[0].type, WB_BOOL);
	assert_true(f->sp.ops[1].w[0].b);
	assert_string_equal(f->sp.ops[1].w[0].field, "opentech_overlocked");
}

static void test_R4_delinquency_payment_clears(void **state)
{
	struct fx *f = *state;
	const char *const prev[] = { "r1", NULL };
	struct pms_rental *r;

	unit(f, "u1", "A1", NULL);
	r = rental(f, "r1", "u1", "c1", false);
	r->cf = cfs(f, "opentech_accessCode=482913", "opentech_overlocked=true", NULL);
	ounit(f, "A1", VU_DELINQUENT);
	otenant(f, "A1", "482913", "r1");
	plan(f, prev);
	assert_string_equal(ops(f), "enable,write");
	assert_false(f->sp.ops[1].w[0].b);
}

static void test_R4_delinquency_staff_flag(void **state)
{
	struct fx *f = *state;
	struct pms_rental *r;

	unit(f, "u1", "A1", NULL);
	r = rental(f, "r1", "u1", "c1", false);
	r->cf = cfs(f, "opentech_accessCode=482913", "opentech_overlocked=true", NULL);
	ounit(f, "A1", VU_RENTED);
	otenant(f, "A1", "482913", "r1");
	plan(f, NULL);
	assert_string_equal(ops(f), "disable"); /* no write: the flag is staff's */
}

static void test_R4_delinquency_already_mirrored(void **state)
{
	struct fx *f = *state;
	const char *const prev[] = { "r1", NULL };
	struct pms_rental *r;

	unit(f, "u1", "A1", NULL);
	r = rental(f, "r1", "u1", "c1", true);
	r->cf = cfs(f, "opentech_accessCode=482913", "opentech_overlocked=true", NULL);
	ounit(f, "A1", VU_DELINQUENT);
	otenant(f, "A1", "482913", "r1");
	plan(f, prev);
	assert_string_equal(ops(f), "");
}

static void test_R5_status(void **state)
{
	struct fx *f = *state;
	struct pms_rental *r;

	unit(f, "u1", "A1", NULL);    /* vacant, vendor Rented -> Vacant */
	unit(f, "u2", "A2", NULL);    /* rented, vendor Delinquent -> Rented */
	unit(f, "u3", "A3", NULL);    /* delinquent, vendor Rented -> Delinquent */
	r = rental(f, "r2", "u2", "c2", false);
	r->cf = cfs(f, "opentech_accessCode=482913", NULL);
	r = rental(f, "r3", "u3", "c3", false);
	r->cf = cfs(f, "opentech_accessCode=590137", "opentech_overlocked=true", NULL);
	ounit(f, "A1", VU_RENTED);
	ounit(f, "A2", VU_DELINQUENT);
	otenant(f, "A2", "482913", "r2");
	ounit(f, "A3", VU_RENTED);
	otenant(f, "A3", "590137", "r3");
	plan(f, NULL);
	assert_string_equal(ops(f), "vacate,enable,disable");
}

static bool reject_first(const char *code, void *payload)
{
	int *n = payload;

	(void)code;
	return (*n)++ < 5;
}

static void test_R6_codes(void **state)
{
	struct fx *f = *state;
	struct pms_rental *r;
	struct plan p = { 0 };
	struct rc_buf text;
	char code[16], *json;
	struct rc_err err;
	int calls = 0, i;
	json_t *j;

	assert_true(code_trivial("111111"));
	assert_true(code_trivial("123456"));
	assert_true(code_trivial("654321"));
	assert_true(code_trivial("890123"));
	assert_false(code_trivial("482913"));
	for (i = 0; i < 200; i++) {
		assert_int_equal(code_generate(code, 6, NULL, NULL, &err), 0);
		assert_int_equal(strlen(code), 6);
		assert_true(code_valid(code, 6));
		assert_true(code[0] != '0');
		assert_false(code_trivial(code));
	}
	assert_int_equal(code_generate(code, 8, reject_first, &calls, &err), 0);
	assert_int_equal(calls, 6); /* five taken, the sixth is free */

	unit(f, "u1", "A1", NULL);
	unit(f, "u2", "A2", NULL);
	rental(f, "r1", "u1", "c1", false);        /* no code: generated */
	r = rental(f, "r2", "u2", "c2", false);
	r->cf = cfs(f, "opentech_accessCode=482913", NULL);
	ounit(f, "A1", VU_VACANT);
	ounit(f, "A2", VU_VACANT);
	plan(f, NULL);
	assert_string_equal(ops(f), "write,create,create");
	assert_int_equal(f->sp.ops[0].w[0].type, WB_CODE);
	assert_int_equal(f->sp.ops[0].w[0].code.src, CODE_GENERATED);
	assert_int_equal(f->sp.ops[1].t.code.src, CODE_GENERATED);
	assert_int_equal(f->sp.ngen, 1);
	/* the plan, both forms, never holds a code */
	p.sites = &f->sp;
	p.nsites = 1;
	plan_totals(&p);
	rc_buf_init(&text);
	plan_render_text(&p, &(struct render_opts){ 0 }, &text);
	j = plan_to_json(&p);
	json = json_dumps(j, 0);
	assert_null(strstr(text.p, "482913"));
	assert_null(strstr(json, "482913"));
	assert_non_null(strstr(text.p, "(sensitive value)"));
	free(json);
	json_decref(j);
	rc_buf_free(&text);
}

static void test_R7_minimal_in_sync(void **state)
{
	struct fx *f = *state;
	struct pms_rental *r;

	unit(f, "u1", "A1", NULL);
	unit(f, "u2", "A2", NULL);
	r = rental(f, "r1", "u1", "c1", false);
	r->cf = cfs(f, "opentech_accessCode=482913", NULL);
	ounit(f, "A1", VU_RENTED);
	otenant(f, "A1", "482913", "r1");
	ounit(f, "A2", VU_VACANT);
	plan(f, NULL);
	assert_string_equal(ops(f), "");
	assert_int_equal(f->sp.nchanges, 0);
}

static void test_R7_minimal_one_update(void **state)
{
	struct fx *f = *state;
	struct obs_tenant *t;
	struct pms_rental *r;

	unit(f, "u1", "A1", NULL);
	r = rental(f, "r1", "u1", "c1", false);
	r->cf = cfs(f, "opentech_accessCode=482913", NULL);
	ounit(f, "A1", VU_RENTED);
	t = otenant(f, "A1", "000111", "r1");
	t->last_name = "Old";
	t->phone = "+351 9";
	plan(f, NULL);
	assert_string_equal(ops(f), "update");
	assert_int_equal(f->sp.ops[0].changed, TF_LAST_NAME | TF_PHONE | TF_CODE);
}

static void test_R7_minimal_order(void **state)
{
	struct fx *f = *state;
	struct pms_rental *r;

	unit(f, "u1", "A1", NULL);
	unit(f, "u2", "A2", NULL);
	r = rental(f, "r1", "u1", "c1", true);  /* overdue move-in */
	r->cf = cfs(f, "opentech_accessCode=482913", NULL);
	ounit(f, "A1", VU_VACANT);
	ounit(f, "A2", VU_DELINQUENT);          /* moved out while overlocked */
	otenant(f, "A2", "590137", "r9");
	plan(f, NULL);
	/* create before disable; vacate alone, never enable-then-vacate */
	assert_string_equal(ops(f), "create,disable,write,vacate");
}

static void test_R8_writeback(void **state)
{
	struct fx *f = *state;

	unit(f, "u1", "A1", NULL);
	rental(f, "r1", "u1", "c1", true);
	ounit(f, "A1", VU_VACANT);
	plan(f, NULL);
	assert_string_equal(ops(f), "write,create,disable");
	assert_string_equal(f->sp.ops[0].collection, "unit-rentals");
	assert_string_equal(f->sp.ops[0].object_id, "r1");
	assert_int_equal(f->sp.ops[0].nw, 2);       /* code + overlock mirror */
	assert_int_equal(f->sp.nrecs, 1);           /* the state it converges to */
}

/* The write-backs of R8 applied (as their webhook would show them) cause
 * no further operation. */
static void test_R8_writeback_no_echo(void **state)
{
	struct fx *f = *state;
	const char *const prev[] = { "r1", NULL };
	struct pms_rental *r;

	unit(f, "u1", "A1", NULL);
	r = rental(f, "r1", "u1", "c1", true);
	r->cf = cfs(f, "opentech_accessCode=482913", "opentech_overlocked=true", NULL);
	ounit(f, "A1", VU_DELINQUENT);
	otenant(f, "A1", "482913", "r1");
	plan(f, prev);
	assert_string_equal(ops(f), "");
}

static void test_R9_transfer(void **state)
{
	struct fx *f = *state;
	struct pms_rental *r;

	unit(f, "u1", "A1", NULL);      /* old unit: the rental ended */
	unit(f, "u2", "A2", NULL);      /* new unit: the new rental, old tenant still there */
	r = rental(f, "r2", "u2", "c1", false);
	r->cf = cfs(f, "opentech_accessCode=482913", NULL);
	ounit(f, "A1", VU_RENTED);
	otenant(f, "A1", "482913", "r1");
	ounit(f, "A2", VU_RENTED);
	otenant(f, "A2", "590137", "r0");   /* another rental's tenant */
	plan(f, NULL);
	assert_string_equal(ops(f), "vacate,vacate,create");
	assert_string_equal(f->sp.ops[0].unit, "A1");
	assert_string_equal(f->sp.ops[1].unit, "A2");
	assert_int_equal(f->sp.changes[1].action, ACT_REPLACE);
}

static void test_R10_safety_destructive_count(void **state)
{
	struct fx *f = *state;
	char id[16], name[16];
	int i;

	for (i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "u%d", i);
		snprintf(name, sizeof(name), "A%02d", i);
		unit(f, id, name, NULL);
		ounit(f, name, VU_RENTED);
	}
	plan(f, NULL);
	assert_int_equal(f->sp.managed, 20);
	assert_int_equal(f->sp.destructive, 20);  /* every unit would be vacated */
}

static void test_R10_safety_missing_customer(void **state)
{
	struct fx *f = *state;
	struct pms_rental *r;

	unit(f, "u1", "A1", NULL);
	r = rental(f, "r1", "u1", "c1", false);
	r->owner_id = "missing";           /* not in the PMS answer */
	ounit(f, "A1", VU_RENTED);
	otenant(f, "A1", "482913", "r1");
	plan(f, NULL);
	assert_string_equal(ops(f), "");   /* never vacated for missing data */
	assert_int_equal(findings(f, FIND_MISSING_OWNER), 1);
}

/* ------------------------------------------------------------ OpenTech */

static void test_OT1_tenant_visitor(void **state)
{
	struct fx *f = *state;
	struct pms_rental *r;

	f->site.opentech.access_profile_id = 3;
	f->site.opentech.time_group_id = 2;
	unit(f, "u1", "A1", NULL);
	unit(f, "u2", "A2", NULL);
	unit(f, "u3", "A3", NULL);
	r = rental(f, "r1", "u1", "c1", false);
	r->cf = cfs(f, "opentech_accessCode=482913", NULL);
	r = rental(f, "r2", "u2", "c2", false);
	r->cf = cfs(f, "opentech_accessCode=590137", NULL);
	r = rental(f, "r3", "u3", "c3", false);
	r->cf = cfs(f, "opentech_accessCode=305871", NULL);
	ounit(f, "A1", VU_VACANT);
	ounit(f, "A2", VU_RENTED);
	otenant(f, "A2", "590137", NULL)->access_profile = 3; /* made by hand: adopted */
	obs_find_unit_mut(&f->sp.obs, "A2")->tenants[0].time_group = 2;
	ounit(f, "A3", VU_RENTED);
	otenant(f, "A3", "305871", "r3")->access_profile = 3;
	obs_find_unit_mut(&f->sp.obs, "A3")->tenants[0].time_group = 2;
	otenant(f, "A3", "111", NULL);                        /* a second tenant */
	obs_find_unit_mut(&f->sp.obs, "A3")->tenants[1].vendor_id = "extra";
	plan(f, NULL);
	assert_string_equal(ops(f), "create,remove");
	assert_string_equal(f->sp.ops[0].t.first_name, "Ana");
	assert_string_equal(f->sp.ops[0].t.email, "ana@example.com");
	assert_int_equal(f->sp.ops[0].t.access_profile, 3);
	assert_int_equal(f->sp.ops[0].t.time_group, 2);
	assert_int_equal(f->sp.ops[0].t.code.src, CODE_PMS_RENTAL);
	assert_string_equal(f->sp.ops[1].tenant_vid, "extra");
}

static void test_OT2_profile_and_time_group(void **state)
{
	struct fx *f = *state;
	struct pms_unit *u;
	struct pms_rental *r;

	f->site.opentech.access_profile_id = 3;
	unit(f, "u1", "A1", NULL);
	unit(f, "u2", "A2", NULL);
	u = &f->snap.units[0];
	u->cf = cfs(f, "opentech_unitId=A1", "opentech_accessProfileId=7", "opentech_timeGroupId=4", NULL);
	u = &f->snap.units[1];
	u->cf = cfs(f, "opentech_unitId=A2", "opentech_accessProfileId=seven", NULL);
	r = rental(f, "r1", "u1", "c1", false);
	r->cf = cfs(f, "opentech_accessCode=482913", NULL);
	rental(f, "r2", "u2", "c2", false);
	ounit(f, "A1", VU_RENTED);
	otenant(f, "A1", "482913", "r1")->access_profile = 3;
	ounit(f, "A2", VU_VACANT);
	plan(f, NULL);
	assert_string_equal(ops(f), "update");
	assert_int_equal(f->sp.ops[0].changed, TF_ACCESS_PROFILE | TF_TIME_GROUP);
	assert_int_equal(f->sp.ops[0].t.access_profile, 7);
	assert_int_equal(f->sp.ops[0].t.time_group, 4);
	assert_int_equal(findings(f, FIND_BAD_VALUE), 1);
}

static void test_OT3_status_transitions(void **state)
{
	struct fx *f = *state;
	const char *const prev[] = { "r4", NULL };
	struct pms_rental *r;

	unit(f, "u1", "A1", NULL);   /* move-in */
	unit(f, "u2", "A2", NULL);   /* move-out */
	unit(f, "u3", "A3", NULL);   /* overdue */
	unit(f, "u4", "A4", NULL);   /* settled */
	unit(f, "u5", "A5", NULL);   /* settled after it moved out */
	r = rental(f, "r1", "u1", "c1", false);
	r->cf = cfs(f, "opentech_accessCode=482913", NULL);
	r = rental(f, "r3", "u3", "c3", true);
	r->cf = cfs(f, "opentech_accessCode=590137", "opentech_overlocked=true", NULL);
	r = rental(f, "r4", "u4", "c4", false);
	r->cf = cfs(f, "opentech_accessCode=305871", "opentech_overlocked=false", NULL);
	ounit(f, "A1", VU_VACANT);
	ounit(f, "A2", VU_RENTED);
	otenant(f, "A2", "111", "r2");
	ounit(f, "A3", VU_RENTED);
	otenant(f, "A3", "590137", "r3");
	ounit(f, "A4", VU_DELINQUENT);
	otenant(f, "A4", "305871", "r4");
	ounit(f, "A5", VU_DELINQUENT);
	otenant(f, "A5", "222", "r5");
	plan(f, prev);
	assert_string_equal(ops(f), "create,vacate,disable,enable,vacate");
}

static void test_OT4_access_code(void **state)
{
	struct fx *f = *state;
	struct pms_rental *r;

	unit(f, "u1", "A1", NULL);   /* empty code: generated, written back first */
	unit(f, "u2", "A2", NULL);   /* code edited by staff */
	unit(f, "u3", "A3", NULL);   /* not a code */
	rental(f, "r1", "u1", "c1", false);
	r = rental(f, "r2", "u2", "c2", false);
	r->cf = cfs(f, "opentech_accessCode=736204", NULL);
	r = rental(f, "r3", "u3", "c3", false);
	r->cf = cfs(f, "opentech_accessCode=12a4", NULL);
	ounit(f, "A1", VU_VACANT);
	ounit(f, "A2", VU_RENTED);
	otenant(f, "A2", "482913", "r2");
	ounit(f, "A3", VU_VACANT);
	plan(f, NULL);
	assert_string_equal(ops(f), "write,create,update");
	assert_int_equal(f->sp.ops[0].w[0].type, WB_CODE);
	assert_int_equal(f->sp.ops[2].changed, TF_CODE);
	assert_int_equal(f->sp.ops[2].t.code.src, CODE_PMS_RENTAL);
	assert_int_equal(findings(f, FIND_BAD_VALUE), 1);
}

static void test_OT5_resync(void **state)
{
	struct fx *f = *state;
	struct pms_rental *r;

	unit(f, "u1", "A1", NULL);
	r = rental(f, "r1", "u1", "c1", false);
	r->cf = cfs(f, "opentech_accessCode=482913", "opentech_resync=true", NULL);
	ounit(f, "A1", VU_RENTED);
	otenant(f, "A1", "482913", "r1");
	plan(f, NULL);
	assert_string_equal(ops(f), "update,enable,write");
	assert_int_equal(f->sp.ops[0].changed, TF_ALL);
	assert_string_equal(f->sp.ops[2].w[0].field, "opentech_resync");
	assert_false(f->sp.ops[2].w[0].b);
}

static void test_OT6_credentials(void **state)
{
	struct spec_secret env = { .env = "RECONCILE_TEST_OT_KEY" };
	struct fx *f = *state;
	struct spec_secret file = { .file = rc_sprintf("%s/ot-secret", f->dir) };
	struct rc_err err;
	char *v = NULL;
	FILE *fp;

	unsetenv("RECONCILE_TEST_OT_KEY");
	assert_int_not_equal(spec_secret_read(&env, "the OpenTech API key", NULL, &v, &err), 0);
	assert_non_null(strstr(err.msg, "RECONCILE_TEST_OT_KEY"));
	setenv("RECONCILE_TEST_OT_KEY", "k-123", 1);
	assert_int_equal(spec_secret_read(&env, "the OpenTech API key", NULL, &v, &err), 0);
	assert_string_equal(v, "k-123");
	rc_free_secret(v);
	fp = fopen(file.file, "w");
	assert_non_null(fp);
	fputs("s3cr3t\nsecond line\n", fp);
	fclose(fp);
	assert_int_equal(spec_secret_read(&file, "the OpenTech API secret", NULL, &v, &err), 0);
	assert_string_equal(v, "s3cr3t");
	rc_free_secret(v);
	unlink(file.file);
	assert_int_not_equal(spec_secret_read(&file, "the OpenTech API secret", NULL, &v, &err), 0);
	assert_null(strstr(err.msg, "s3cr3t"));
	free(file.file);
}

/* ------------------------------------------------------------- OpenApp */

static const char *lobby[] = { "L" };

static void openapp_site(struct fx *f)
{
	f->site.vendor = VENDOR_OPENAPP;
	f->site.fields.oa_portal_ids = "openapp_portalIds";
	f->site.fields.oa_invite_url = "openapp_inviteUrl";
	f->site.openapp.lobby_portal_ids = (char **)lobby;
	f->site.openapp.nlobby_portal_ids = 1;
	f->site.openapp.max_uses = -1;
}

static void oa_unit(struct fx *f, const char *id, const char *name, const char *portals)
{
	char buf[96];

	unit(f, id, name, "");
	snprintf(buf, sizeof(buf), "openapp_portalIds=%s", portals);
	f->snap.units[f->snap.nunits - 1].cf = cfs(f, buf, NULL);
}

/* An observed invite for rental `rental`. */
static void oa_invite(struct fx *f, const char *rental, bool enabled, const char *extra)
{
	struct obs_unit *u = ounit(f, rental, enabled ? VU_RENTED : VU_DELINQUENT);
	struct obs_tenant *t = obs_add_tenant(&f->sp.obs, u);

	t->vendor_id = "INV";
	t->rental_id = rental;
	t->enabled = enabled;
	t->extra = extra;
}

static void plan_oa(struct fx *f)
{
	struct store_txn *t = NULL;
	struct diff_ctx dc = { 0 };
	struct rc_err err;

	assert_int_equal(pms_snapshot_index(&f->snap, &err), 0);
	obs_site_index(&f->sp.obs);
	snap_groups_build(&f->g, &f->snap);
	f->built = true;
	f->sp.pms_site = pms_find_site(&f->snap, "S1");
	assert_int_equal(store_txn_begin(f->store, false, &t, &err), 0);
	assert_int_equal(desired_collect(&f->sp, &f->snap, &f->g, "openapp_portalIds", NULL, 0, t,
					 &f->d, NULL, &err), 0);
	store_txn_abort(t);
	dc.sp = &f->sp;
	dc.store = f->store;
	dc.snap = &f->snap;
	dc.groups = &f->g;
	dc.scope = f->scope;
	assert_int_equal(diff_openapp(&dc, &f->d), 0);
}

static void test_OA1_invite_per_rental(void **state)
{
	struct fx *f = *state;

	openapp_site(f);
	oa_unit(f, "u1", "A1", "P2, P1");
	oa_unit(f, "u2", "A2", "P3");
	rental(f, "r1", "u1", "c1", false)->start_date = "2026-01-05";
	plan_oa(f);
	assert_string_equal(ops(f), "create,write");
	assert_string_equal(f->sp.ops[0].t.portals, "L,P1,P2");
	assert_string_equal(f->sp.ops[0].rental_id, "r1");
	assert_int_equal(f->sp.ops[0].result_slot, 0);
	assert_int_equal(f->sp.nresults, 1);
	assert_true(f->sp.ops[0].t.enabled);
}

static void test_OA2_validity(void **state)
{
	struct fx *f = *state;
	struct pms_rental *r;

	openapp_site(f);
	oa_unit(f, "u1", "A1", "P1");
	oa_unit(f, "u2", "A2", "P2");
	r = rental(f, "r1", "u1", "c1", false);
	r->start_date = "2026-01-05";
	r->end_date = "2026-03-31";
	rental(f, "r2", "u2", "c2", false)->start_date = "2026-01-05";
	plan_oa(f);
	assert_string_equal(ops(f), "create,write,create,write");
	assert_string_equal(f->sp.ops[0].t.valid_from, "2026-01-05T00:00:00Z");
	assert_string_equal(f->sp.ops[0].t.valid_to, "2026-03-31T23:59:59Z");
	assert_string_equal(f->sp.ops[2].t.valid_to, "2036-01-03T23:59:59Z"); /* open-ended */
}

/* today + days, end of day, UTC (as diff_openapp writes it). */
static void day_after(long days, char *out, size_t n)
{
	time_t t = time(NULL) + days * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT23:59:59Z", &tm);
}

/* OA2 rolling window (spec validity_days): a new invite runs to today +
 * 30 days; one with more than half its window left is left alone; one
 * with less is renewed to today + 30. */
static void test_OA2_rolling_validity(void **state)
{
	struct fx *f = *state;
	char d30[32], d20[32], d10[32], x2[160], x3[160];

	openapp_site(f);
	f->site.openapp.validity_days = 30;
	day_after(30, d30, sizeof(d30));
	day_after(20, d20, sizeof(d20));
	day_after(10, d10, sizeof(d10));
	oa_unit(f, "u1", "A1", "P1");
	oa_unit(f, "u2", "A2", "P2");
	oa_unit(f, "u3", "A3", "P3");
	rental(f, "r1", "u1", "c1", false)->start_date = "2026-01-05";
	rental(f, "r2", "u2", "c2", false)->start_date = "2026-01-05";
	rental(f, "r3", "u3", "c3", false)->start_date = "2026-01-05";
	snprintf(x2, sizeof(x2), "{\"f\":\"2026-01-05T00:00:00Z\",\"p\":\"L,P2\",\"t\":\"%s\"}", d20);
	snprintf(x3, sizeof(x3), "{\"f\":\"2026-01-05T00:00:00Z\",\"p\":\"L,P3\",\"t\":\"%s\"}", d10);
	oa_invite(f, "r2", true, x2);
	oa_invite(f, "r3", true, x3);
	plan_oa(f);
	assert_string_equal(ops(f), "create,write,update");
	assert_string_equal(f->sp.ops[0].rental_id, "r1");
	assert_string_equal(f->sp.ops[0].t.valid_to, d30);
	assert_string_equal(f->sp.ops[2].rental_id, "r3");
	assert_int_equal(f->sp.ops[2].changed, TF_WINDOW);
	assert_string_equal(f->sp.ops[2].t.valid_to, d30);
}

static void test_OA3_delinquent_and_vacant(void **state)
{
	struct fx *f = *state;

	openapp_site(f);
	oa_unit(f, "u1", "A1", "P1");
	rental(f, "r1", "u1", "c1", true)->start_date = "2026-01-05";
	oa_invite(f, "r1", true, "{\"f\":\"2026-01-05T00:00:00Z\",\"p\":\"L,P1\","
			      "\"t\":\"2036-01-03T23:59:59Z\"}");
	oa_invite(f, "r9", true, "{}");   /* its rental ended */
	plan_oa(f);
	assert_string_equal(ops(f), "update,vacate");
	assert_int_equal(f->sp.ops[0].changed, TF_ENABLED);
	assert_false(f->sp.ops[0].t.enabled);
	assert_string_equal(f->sp.ops[1].tenant_vid, "INV");
	assert_int_equal(f->sp.destructive, 1);
}

static void test_OA3_scoped_plan_leaves_other_invites(void **state)
{
	struct fx *f = *state;
	struct rc_map scope;

	openapp_site(f);
	oa_unit(f, "u1", "A1", "P1");
	rental(f, "r1", "u1", "c1", true)->start_date = "2026-01-05";
	oa_invite(f, "r1", true, "{\"f\":\"2026-01-05T00:00:00Z\",\"p\":\"L,P1\","
			      "\"t\":\"2036-01-03T23:59:59Z\"}");
	oa_invite(f, "r9", true, "{}");   /* another rental's invite: not in the scope */
	rc_map_init(&scope);
	rc_map_put(&scope, "A1", 1);
	rc_map_put(&scope, "r1", 1);
	f->scope = &scope;
	plan_oa(f);
	assert_string_equal(ops(f), "update");
	assert_int_equal(f->sp.destructive, 0);
	rc_map_free(&scope);
}

static void test_OA4_invite_url_written_back_and_masked(void **state)
{
	struct fx *f = *state;
	struct plan p = { 0 };
	char *json;
	json_t *j;

	openapp_site(f);
	oa_unit(f, "u1", "A1", "P1");
	rental(f, "r1", "u1", "c1", false);
	plan_oa(f);
	assert_string_equal(ops(f), "create,write");
	assert_int_equal(f->sp.ops[1].w[0].type, WB_CODE);
	assert_int_equal(f->sp.ops[1].w[0].code.src, CODE_VENDOR_RESULT);
	assert_string_equal(f->sp.ops[1].w[0].field, "openapp_inviteUrl");
	p.sites = &f->sp;
	p.nsites = 1;
	j = plan_to_json(&p);
	json = json_dumps(j, 0);
	assert_non_null(strstr(json, "\"vendor_result\""));
	assert_null(strstr(json, "http"));
	free(json);
	json_decref(j);
}

/* ----------------------------------------------------------------- PTI */

static void pti_site(struct fx *f)
{
	f->site.vendor = VENDOR_PTI;
	f->site.fields.pti_unit_name = "pti_unitName";
	f->site.fields.pti_access_code = "pti_accessCode";
	f->site.fields.pti_user_id = "pti_userId";
	f->site.fields.pti_zone = "pti_zone";
	f->site.fields.pti_access_level = "pti_accessLevel";
	f->site.fields.pti_regenerate = "pti_regenerateCode";
	f->site.fields.pti_synced = "pti_synced";
	f->site.fields.pti_overlocked = "pti_overlocked";
	f->site.pti.access_level = 1;
	f->site.pti.zone = 1;
}

static void pti_unit(struct fx *f, const char *id, const char *name)
{
	char buf[64];

	unit(f, id, name, "");
	snprintf(buf, sizeof(buf), "pti_unitName=P-%s", name);
	f->snap.units[f->snap.nunits - 1].cf = cfs(f, buf, NULL);
}

/* A rental of an existing customer (rental() adds one customer each). */
static struct pms_rental *rent_to(struct fx *f, const char *id, const char *unit_id,
				  const char *owner, bool overdue)
{
	struct pms_rental *r = pms_add_rental(&f->snap);

	r->id = S(f, id);
	r->unit_id = S(f, unit_id);
	r->site_id = "S1";
	r->owner_id = S(f, owner);
	r->state = PMS_RENTAL_OCCUPIED;
	r->overdue = overdue;
	return r;
}

/* Observed PTI user "@uid" (StorLogix id vid) and unit records. */
static struct obs_tenant *pti_user_rec(struct fx *f, const char *uid, const char *vid,
				       const char *code)
{
	char name[64];
	struct obs_tenant *t;

	snprintf(name, sizeof(name), "@%s", uid);
	t = otenant(f, (ounit(f, name, VU_RENTED), name), code, NULL);
	t->vendor_id = vid;
	t->access_profile = 1;
	t->time_group = 1;
	return t;
}

static void pti_unit_rec(struct fx *f, const char *name, const char *vid)
{
	struct obs_unit *u = ounit(f, name, VU_RENTED);
	struct obs_tenant *t = obs_add_tenant(&f->sp.obs, u);

	t->vendor_id = vid;
}

static void plan_pti(struct fx *f)
{
	struct store_txn *t = NULL;
	struct diff_ctx dc = { 0 };
	struct rc_err err;

	assert_int_equal(pms_snapshot_index(&f->snap, &err), 0);
	obs_site_index(&f->sp.obs);
	snap_groups_build(&f->g, &f->snap);
	f->built = true;
	f->sp.pms_site = pms_find_site(&f->snap, "S1");
	assert_int_equal(store_txn_begin(f->store, false, &t, &err), 0);
	assert_int_equal(desired_collect(&f->sp, &f->snap, &f->g, "pti_unitName", "pti_overlocked",
					 DC_UNIQUE_MAP, t, &f->d, NULL, &err), 0);
	dc.sp = &f->sp;
	dc.store = f->store;
	dc.snap = &f->snap;
	dc.groups = &f->g;
	dc.scope = f->scope;
	assert_int_equal(diff_pti(&dc, &f->d, t), 0);
	store_txn_abort(t);
}

static void test_PT1_one_user_per_customer(void **state)
{
	struct fx *f = *state;

	pti_site(f);
	pti_unit(f, "u1", "1");
	pti_unit(f, "u2", "2");
	rental(f, "r1", "u1", "c1", false);
	rent_to(f, "r2", "u2", "c1", false);
	plan_pti(f);
	assert_string_equal(ops(f), "write,create,rent,rent,write,write,write");
	assert_string_equal(f->sp.ops[1].unit, "@c1");
	assert_string_equal(f->sp.ops[1].user_id, "c1");
	assert_int_equal(f->sp.ops[2].id_ref.src, CODE_VENDOR_RESULT);  /* the new user's id */
	assert_string_equal(f->sp.ops[4].collection, "users");
	assert_int_equal(f->sp.ops[4].w[0].type, WB_RESULT);            /* pti_userId */
	assert_string_equal(f->sp.ops[4].w[0].field, "pti_userId");
}

static void test_PT2_one_code_for_all_units(void **state)
{
	struct fx *f = *state;

	pti_site(f);
	pti_unit(f, "u1", "1");
	pti_unit(f, "u2", "2");
	rental(f, "r1", "u1", "c1", false);
	f->snap.users[0].cf = cfs(f, "pti_accessCode=736104", "pti_userId=101", NULL);
	rent_to(f, "r2", "u2", "c1", false);
	pti_user_rec(f, "c1", "101", "736104");
	pti_unit_rec(f, "P-1", "101");
	plan_pti(f);
	/* the new unit goes to the same user with the same code: one rent */
	assert_string_equal(ops(f), "rent,write,write");
	assert_string_equal(f->sp.ops[0].unit, "P-2");
	assert_string_equal(f->sp.ops[0].tenant_vid, "101");
	assert_int_equal(f->sp.ngen, 0);
}

static void test_PT3_access_level_and_zone(void **state)
{
	struct fx *f = *state;

	pti_site(f);
	pti_unit(f, "u1", "1");
	rental(f, "r1", "u1", "c1", false);
	f->snap.users[0].cf = cfs(f, "pti_accessCode=736104", "pti_accessLevel=5", "pti_zone=2", NULL);
	pti_user_rec(f, "c1", "101", "736104");
	pti_unit_rec(f, "P-1", "101");
	plan_pti(f);
	assert_string_equal(ops(f), "update,write");
	assert_int_equal(f->sp.ops[0].changed, TF_ACCESS_PROFILE | TF_TIME_GROUP);
	assert_int_equal(f->sp.ops[0].t.access_profile, 5);
	assert_int_equal(f->sp.ops[0].t.time_group, 2);
}

static void test_PT4_suspend_while_any_unit_delinquent(void **state)
{
	struct fx *f = *state;

	pti_site(f);
	pti_unit(f, "u1", "1");
	pti_unit(f, "u2", "2");
	rental(f, "r1", "u1", "c1", false);
	f->snap.users[0].cf = cfs(f, "pti_accessCode=736104", NULL);
	rent_to(f, "r2", "u2", "c1", true);
	pti_user_rec(f, "c1", "101", "736104");
	pti_unit_rec(f, "P-1", "101");
	pti_unit_rec(f, "P-2", "101");
	plan_pti(f);
	/* suspend the user; mirror the overlock flag of r2 */
	assert_string_equal(ops(f), "disable,write,write");
	assert_string_equal(f->sp.ops[0].unit, "@c1");
	assert_string_equal(f->sp.ops[0].tenant_vid, "101");
}

static void test_PT5_move_out(void **state)
{
	struct fx *f = *state;

	pti_site(f);
	pti_unit(f, "u1", "1");
	pti_user_rec(f, "c1", "101", "736104");
	pti_unit_rec(f, "P-1", "101");
	plan_pti(f);
	assert_string_equal(ops(f), "vacate,remove");
	assert_string_equal(f->sp.ops[0].unit, "P-1");
	assert_string_equal(f->sp.ops[1].tenant_vid, "101");
	assert_int_equal(f->sp.destructive, 1);
}

/* A scoped plan (one rental's webhook) vacates nothing outside its scope:
 * the PMS snapshot holds only that rental's part of the site. */
static void test_PT5_scoped_plan_leaves_other_units(void **state)
{
	struct fx *f = *state;
	struct rc_map scope;

	pti_site(f);
	pti_unit(f, "u2", "2");
	rental(f, "r2", "u2", "c2", false);
	pti_user_rec(f, "c1", "101", "736104");   /* c1 and P-1: not in the snapshot */
	pti_unit_rec(f, "P-1", "101");
	rc_map_init(&scope);
	rc_map_put(&scope, "P-2", 1);
	rc_map_put(&scope, "@c2", 1);
	rc_map_put(&scope, "r2", 1);
	f->scope = &scope;
	plan_pti(f);
	assert_null(strstr(ops(f), "vacate"));
	assert_null(strstr(ops(f), "remove"));
	assert_int_equal(f->sp.destructive, 0);
	assert_non_null(strstr(ops(f), "create"));  /* c2 is served */
	rc_map_free(&scope);
}

static void test_PT6_regenerate(void **state)
{
	struct fx *f = *state;

	pti_site(f);
	pti_unit(f, "u1", "1");
	rental(f, "r1", "u1", "c1", false);
	f->snap.users[0].cf = cfs(f, "pti_accessCode=736104", "pti_regenerateCode=true", NULL);
	pti_user_rec(f, "c1", "101", "736104");
	pti_unit_rec(f, "P-1", "101");
	plan_pti(f);
	assert_string_equal(ops(f), "write,update,write,write");
	assert_int_equal(f->sp.ops[0].w[0].code.src, CODE_GENERATED);
	assert_true(f->sp.ops[1].changed & TF_CODE);
	assert_string_equal(f->sp.ops[2].w[0].field, "pti_regenerateCode");
	assert_false(f->sp.ops[2].w[0].b);
}

static void test_PT7_repush(void **state)
{
	struct fx *f = *state;
	struct pms_rental *r;

	pti_site(f);
	pti_unit(f, "u1", "1");
	r = rental(f, "r1", "u1", "c1", false);
	r->cf = cfs(f, "pti_unitName=P-1", "pti_synced=2999-01-01T00:00:00.000Z", NULL);
	f->snap.users[0].cf = cfs(f, "pti_accessCode=736104", NULL);
	pti_user_rec(f, "c1", "101", "736104");
	pti_unit_rec(f, "P-1", "101");
	plan_pti(f);
	assert_string_equal(ops(f), "update,rent,write");
	assert_int_equal(f->sp.ops[0].changed, TF_ALL);
	assert_int_equal(f->sp.ops[2].w[0].type, WB_NOW);
}

static void test_PT8_not_readable(void **state)
{
	const struct provider_ops *po = provider_for(VENDOR_PTI);

	(void)state;
	assert_non_null(po);
	assert_false(po->caps & PROV_CAN_READ);
	assert_true(provider_for(VENDOR_OPENTECH)->caps & PROV_CAN_READ);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_R1_managed_units),
		T(test_R2_mapping),
		T(test_R3_occupancy),
		T(test_R4_delinquency_overdue_turns_on),
		T(test_R4_delinquency_payment_clears),
		T(test_R4_delinquency_staff_flag),
		T(test_R4_delinquency_already_mirrored),
		T(test_R5_status),
		T(test_R6_codes),
		T(test_R7_minimal_in_sync),
		T(test_R7_minimal_one_update),
		T(test_R7_minimal_order),
		T(test_R8_writeback),
		T(test_R8_writeback_no_echo),
		T(test_R9_transfer),
		T(test_R10_safety_destructive_count),
		T(test_R10_safety_missing_customer),
		T(test_OT1_tenant_visitor),
		T(test_OT2_profile_and_time_group),
		T(test_OT3_status_transitions),
		T(test_OT4_access_code),
		T(test_OT5_resync),
		T(test_OT6_credentials),
		T(test_OA1_invite_per_rental),
		T(test_OA2_validity),
		T(test_OA2_rolling_validity),
		T(test_OA3_delinquent_and_vacant),
		T(test_OA3_scoped_plan_leaves_other_invites),
		T(test_OA4_invite_url_written_back_and_masked),
		T(test_PT1_one_user_per_customer),
		T(test_PT2_one_code_for_all_units),
		T(test_PT3_access_level_and_zone),
		T(test_PT4_suspend_while_any_unit_delinquent),
		T(test_PT5_move_out),
		T(test_PT5_scoped_plan_leaves_other_units),
		T(test_PT6_regenerate),
		T(test_PT7_repush),
		T(test_PT8_not_readable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
