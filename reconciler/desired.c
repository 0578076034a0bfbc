/* desired.c: vendor-neutral desired state (R1-R6). See desired.h. */
#define _GNU_SOURCE
#include "desired.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ grouping */

void snap_groups_build(struct snap_groups *g, const struct pms_snapshot *s)
{
	size_t i, pos, nsites = 0, *fill;

	memset(g, 0, sizeof(*g));
	rc_map_init(&g->site_pos);
	rc_map_init(&g->occ);
	rc_map_init(&g->occ2);
	rc_map_reserve(&g->occ, s->nrentals); /* sized once, even at a million */
	for (i = 0; i < s->nunits; i++)
		if (!rc_map_get(&g->site_pos, s->units[i].site_id, NULL))
			rc_map_put(&g->site_pos, s->units[i].site_id, nsites++);
	g->starts = rc_calloc(nsites + 1, sizeof(size_t));
	g->counts = rc_calloc(nsites + 1, sizeof(size_t));
	fill = rc_calloc(nsites + 1, sizeof(size_t));
	g->order = rc_calloc(s->nunits + 1, sizeof(size_t));
	for (i = 0; i < s->nunits; i++) {
		rc_map_get(&g->site_pos, s->units[i].site_id, &pos);
		g->counts[pos]++;
	}
	for (i = 1; i < nsites; i++)
		g->starts[i] = g->starts[i - 1] + g->counts[i - 1];
	for (i = 0; i < s->nunits; i++) {
		rc_map_get(&g->site_pos, s->units[i].site_id, &pos);
		g->order[g->starts[pos] + fill[pos]++] = i;
	}
	free(fill);
	for (i = 0; i < s->nrentals; i++) {
		const struct pms_rental *r = &s->rentals[i];

		if (r->state != PMS_RENTAL_OCCUPIED)
			continue;
		if (!rc_map_get(&g->occ, r->unit_id, NULL))
			rc_map_put(&g->occ, r->unit_id, i);
		else
			rc_map_put(&g->occ2, r->unit_id, i);
	}
}

void snap_groups_free(struct snap_groups *g)
{
	rc_map_free(&g->site_pos);
	rc_map_free(&g->occ);
	rc_map_free(&g->occ2);
	free(g->order);
	free(g->starts);
	free(g->counts);
	memset(g, 0, sizeof(*g));
}

/* ---------------------------------------------------------- collecting */

static int cmp_dunit(const void *a, const void *b)
{
	const struct dunit *x = a, *y = b;

	return strcmp(x->vname, y->vname);
}

static void fp_cfs(struct rc_buf *fp, const struct pms_cfs *c)
{
	unsigned i;

	for (i = 0; fp && i < c->n; i++)
		rc_buf_printf(fp, "%s=%s;", c->v[i].code,
			      c->v[i].bad ? "\x01" "bad" : c->v[i].val);
}

static void fp_unit(struct rc_buf *fp, const struct dunit *d)
{
	if (!fp)
		return;
	rc_buf_printf(fp, "U|%s|%s|%s|", d->pu->id, d->pu->name, d->vname);
	fp_cfs(fp, &d->pu->cf);
	if (d->rental) {
		rc_buf_printf(fp, "|R|%s|%d|%d|%s|", d->rental->id,
			      d->rental->state, d->rental->overdue,
			      d->rental->end_date ? d->rental->end_date : "");
		fp_cfs(fp, &d->rental->cf);
	}
	if (d->user) {
		rc_buf_printf(fp, "|C|%s|%s|%s|%s|%s|", d->user->id,
			      d->user->first_name ? d->user->first_name : "",
			      d->user->last_name ? d->user->last_name : "",
			      d->user->email ? d->user->email : "",
			      d->user->phone ? d->user->phone : "");
		fp_cfs(fp, &d->user->cf);
	}
	rc_buf_puts(fp, "\n");
}

/* R4: delinquency and the overlock mirror, against the last PMS record. */
static void delinquency(struct dunit *d, const char *overlock_field,
			const struct pms_recs *last)
{
	const struct pms_rec *prev = pms_recs_find(last, d->rental->id);
	bool prev_overdue = prev && prev->overdue;

	d->overdue = d->rental->overdue;
	if (!overlock_field) {
		d->status = d->overdue ? VU_DELINQUENT : VU_RENTED;
		return;
	}
	d->flag = pms_cf_true(&d->rental->cf, overlock_field);
	if (d->overdue && !prev_overdue && !d->flag) {
		d->flag = true;          /* overdue turned on */
		d->write_flag = true;
	} else if (!d->overdue && prev_overdue && d->flag) {
		d->flag = false;         /* a payment cleared it */
		d->write_flag = true;
	}
	d->status = (d->overdue || d->flag) ? VU_DELINQUENT : VU_RENTED;
}

/* R2: two PMS units mapping to one vendor unit: an error on both. */
static void flag_duplicates(struct site_plan *sp, struct desired_site *d)
{
	size_t i, j;

	for (i = 0; i + 1 < d->n; i = j) {
		for (j = i + 1; j < d->n && !strcmp(d->units[i].vname, d->units[j].vname); j++)
			;
		if (j - i < 2)
			continue;
		for (size_t k = i; k < j; k++) {
			d->units[k].error = true;
			sp_add_finding(sp, FIND_DUPLICATE_MAPPING, SEV_ERROR,
				       d->units[k].pu->name, d->units[k].vname, "R2",
				       "%zu PMS units map to vendor unit \"%s\"; none of them is synced until the mapping is fixed",
				       j - i, d->units[k].vname);
		}
	}
}

/* What one unit's rules need of its vendor: field codes and checks. */
struct unit_rules {
	const char *map_field;
	const char *overlock_field;   /* NULL: delinquent = overdue */
	unsigned flags;               /* VENDOR_MAP_* */
	const struct pms_recs *last;
};

/* A field of the unit, its rental or its customer holding an object or an
 * array (model.h): no rule can read it, so the unit is left alone, for
 * every vendor, rather than the field taken for empty. */
static bool bad_type(struct site_plan *sp, struct dunit *d, const struct pms_cfs *cf,
		     const char *of)
{
	const char *code = pms_cf_bad(cf);

	if (!code)
		return false;
	d->error = true;
	sp_add_finding(sp, FIND_BAD_VALUE, SEV_ERROR, d->pu->name, d->vname, "R6",
		       "the %s's field %s holds a JSON object or array, not a value: unit left as it is",
		       of, code);
	return true;
}

/* Fill d for one unit; *managed false when the unit is not managed. */
static void one_unit(struct site_plan *sp, const struct pms_snapshot *snap,
		     const struct snap_groups *g, const struct pms_unit *pu,
		     const struct unit_rules *r, struct dunit *d, bool *managed)
{
	const char *map_field = r->map_field;
	size_t ri;

	memset(d, 0, sizeof(*d));
	d->pu = pu;
	d->vname = pms_cf_get(&pu->cf, map_field);
	d->status = VU_VACANT;
	if (rc_map_get(&g->occ, pu->id, &ri))
		d->rental = &snap->rentals[ri];
	*managed = d->vname && *d->vname;
	if (!d->vname && pms_cf_is_bad(&pu->cf, map_field)) {
		sp_add_finding(sp, FIND_BAD_VALUE, SEV_ERROR, pu->name, NULL, "R1",
			       "mapping field %s holds a JSON object or array, not a unit name: not synced",
			       map_field);
		return;
	}
	if (!*managed) {
		if (d->rental)
			sp_add_finding(sp, FIND_UNMANAGED_RENTED, SEV_WARNING, pu->name,
				       NULL, "R1",
				       "unit is rented but its mapping field %s is empty: not synced",
				       map_field);
		return;
	}
	if ((r->flags & VENDOR_MAP_NAME_CHECK) && strcmp(d->vname, pu->name) != 0)
		sp_add_finding(sp, FIND_NAME_MISMATCH, SEV_WARNING, pu->name, d->vname,
			       "R2", "mapping field %s is \"%s\" but the unit is named \"%s\" (synced by the field)",
			       map_field, d->vname, pu->name);
	if (rc_map_get(&g->occ2, pu->id, &ri)) {
		d->error = true;
		sp_add_finding(sp, FIND_DOUBLE_OCCUPANCY, SEV_ERROR, pu->name, d->vname,
			       "R3", "two occupied rentals (%s, %s) on one unit: no operation until one ends",
			       d->rental->id, snap->rentals[ri].id);
		return;
	}
	if (bad_type(sp, d, &pu->cf, "unit") || (d->rental && bad_type(sp, d, &d->rental->cf, "rental")))
		return;
	if (!d->rental)
		return;
	d->user = pms_find_user(snap, d->rental->owner_id);
	if (!d->user) {
		d->error = true;
		sp_add_finding(sp, FIND_MISSING_OWNER, SEV_ERROR, pu->name, d->vname,
			       "R10", "customer %s of rental %s is missing from the PMS answer: unit left as it is",
			       d->rental->owner_id, d->rental->id);
		return;
	}
	if (bad_type(sp, d, &d->user->cf, "customer"))
		return;
	delinquency(d, r->overlock_field, r->last);
}

void desired_collect(struct site_plan *sp, const struct pms_snapshot *snap,
		     const struct snap_groups *g, const struct vendor *v,
		     const struct pms_recs *last, struct desired_site *out,
		     struct rc_buf *fp)
{
	struct unit_rules r = { vendor_field(sp->site, v->map_field),
				vendor_field(sp->site, v->overlock_field), v->map_flags, last };
	size_t pos, i, cap = 0;
	struct dunit d;
	bool managed;

	memset(out, 0, sizeof(*out));
	if (!sp->pms_site || !rc_map_get(&g->site_pos, sp->pms_site->id, &pos))
		return; /* no units: the caller applies R10 */
	out->pms_units = g->counts[pos];
	for (i = 0; i < g->counts[pos]; i++) {
		const struct pms_unit *pu = &snap->units[g->order[g->starts[pos] + i]];

		one_unit(sp, snap, g, pu, &r, &d, &managed);
		if (managed)
			*RC_PUSH(out->units, out->n, cap) = d;
	}
	if (out->n > 1)
		qsort(out->units, out->n, sizeof(*out->units), cmp_dunit);
	for (i = 0; i < out->n; i++)
		fp_unit(fp, &out->units[i]);
	if (r.flags & VENDOR_MAP_UNIQUE)
		flag_duplicates(sp, out);
	sp->managed = (unsigned)out->n;
}

void desired_free(struct desired_site *d)
{
	free(d->units);
	memset(d, 0, sizeof(*d));
}

/* ---------------------------------------------------------------- R6 */

bool code_valid(const char *code, size_t maxlen)
{
	size_t n;

	if (!code)
		return false;
	n = strlen(code);
	if (n < 1 || n > maxlen)
		return false;
	return strspn(code, "0123456789") == n;
}

bool code_trivial(const char *code)
{
	size_t i, n = strlen(code);
	bool same = true, up = true, down = true;

	for (i = 1; i < n; i++) {
		int a = code[i - 1] - '0', b = code[i] - '0';

		same = same && a == b;
		up = up && b == (a + 1) % 10;
		down = down && b == (a + 9) % 10;
	}
	return same || up || down;
}

int code_generate(char *buf, size_t len,
		  bool (*in_use)(const char *code, void *payload),
		  void *payload, struct rc_err *err)
{
	unsigned char rnd[16];
	int tries;
	size_t i;

	if (len < 4 || len > 10)
		return rc_errf(err, RC_EINVAL, "code length %zu is out of range 4..10", len);
	for (tries = 0; tries < 1000; tries++) {
		if (RAND_bytes(rnd, (int)len) != 1)
			return rc_errf(err, RC_ERR, "the random generator failed");
		for (i = 0; i < len; i++) {
			/* rejection sampling keeps the digits uniform */
			while (rnd[i] >= 250) {
				if (RAND_bytes(&rnd[i], 1) != 1)
					return rc_errf(err, RC_ERR, "the random generator failed");
			}
			buf[i] = (char)('0' + rnd[i] % 10);
		}
		buf[len] = '\0';
		if (buf[0] == '0' || code_trivial(buf))
			continue;
		if (in_use && in_use(buf, payload))
			continue;
		explicit_bzero(rnd, sizeof(rnd));
		return RC_OK;
	}
	explicit_bzero(rnd, sizeof(rnd));
	explicit_bzero(buf, len);
	return rc_errf(err, RC_ERR, "could not find a free access code of %zu digits", len);
}

long parse_override(const char *v)
{
	char *end;
	long n;

	if (!v || !*v)
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || n < 0)
		return -2;
	return n;
}
