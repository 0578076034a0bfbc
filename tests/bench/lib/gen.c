/* gen.c: see gen.h. Streams with fprintf: a million units take seconds
 * and no tree. */
#define _GNU_SOURCE
#include "gen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SG_KEY "demo-storeganise-key"
#define OT_KEY "demo-opentech-key"
#define OT_SECRET "demo-opentech-secret"
#define OT_CLIENT "demo-integrator"
#define OT_CLIENT_SECRET "demo-integrator-secret"
#define PTI_CLIENT "demo-pti-partner"
#define PTI_KEY "demo-pti-partner-key"
#define OA_KEY "demo-openapp-key"
#define OA_ORG "01ORG0000000000000000000AA"

void gen_set_credentials(void)
{
	setenv("E2E_SG_API_KEY", SG_KEY, 1);
	setenv("E2E_SG_WEBHOOK_SECRET", "e2e-webhook-secret", 1);
	setenv("E2E_OT_API_KEY", OT_KEY, 1);
	setenv("E2E_OT_API_SECRET", OT_SECRET, 1);
	setenv("E2E_OT_CLIENT_ID", OT_CLIENT, 1);
	setenv("E2E_OT_CLIENT_SECRET", OT_CLIENT_SECRET, 1);
	setenv("E2E_PTI_CLIENT_ID", PTI_CLIENT, 1);
	setenv("E2E_PTI_API_KEY", PTI_KEY, 1);
	setenv("E2E_OA_API_KEY", OA_KEY, 1);
}

int gen_parse_mix(const char *s, unsigned mix[3])
{
	char *end;
	unsigned long v;
	int n;

	for (n = 0; n < 3; n++) {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || end == s || v > 100)
			return -1;
		mix[n] = (unsigned)v;
		if (n < 2 && *end != ',')
			return -1;
		s = end + 1;
	}
	if (*end || mix[0] + mix[1] + mix[2] != 100)
		return -1;
	return 0;
}

/* Sites in blocks: the first mix[0] % OpenTech, then PTI, then OpenApp. */
enum gen_vendor gen_site_vendor(const struct gen *g, unsigned k)
{
	unsigned x = (unsigned)((unsigned long long)k * 100 / (g->sites ? g->sites : 1));

	if (x < g->mix[0])
		return GEN_OT;
	if (x < g->mix[0] + g->mix[1])
		return GEN_PTI;
	return GEN_OA;
}

bool gen_rented(unsigned i)
{
	return i % 2 == 0;
}

static bool trivial(unsigned c)
{
	return c % 111111 == 0 || c == 123456 || c == 654321;
}

/* i -> 100000 + (7919 i + 31 k) mod 900000 is one-to-one in a site (7919
 * is prime to 900000); the few trivial ones get a 7-digit code. */
const char *gen_code(unsigned k, unsigned i, char *buf)
{
	unsigned c = 100000 + (unsigned)(((unsigned long long)i * 7919 + 31ull * k) % 900000);

	snprintf(buf, 12, trivial(c) ? "2%u" : "%u", c);
	return buf;
}

long long gen_ot_unit_id(unsigned k, unsigned i)
{
	return (long long)(k + 1) * 1000000 + i;
}

int gen_ot_unit_of(long long id, unsigned *k, unsigned *i)
{
	if (id < 1000000)
		return -1;
	*k = (unsigned)(id / 1000000 - 1);
	*i = (unsigned)(id % 1000000);
	return 0;
}

char *gen_ot_create_body(unsigned k, unsigned i)
{
	char code[12];

	return rc_sprintf("{\"unitId\":%lld,\"isTenant\":true,\"firstName\":\"F%u\",\"lastName\":\"L%u\","
			  "\"email\":\"c%u-%u@example.com\",\"mobilePhoneNumber\":\"+351 9%02u%06u\","
			  "\"accessCode\":\"%s\",\"accessProfileId\":1,\"timeGroupId\":0}",
			  gen_ot_unit_id(k, i), i, k, k, i, k % 100, i, gen_code(k, i, code));
}

/* ------------------------------------------------------ the PMS arrays */

/* Fields the engine does not read, as the API sends them: a snapshot's
 * size per unit is near the API's (about 460 bytes a unit in all). */
#define STAMPS "\"created\":\"2025-06-01T08:00:00.000Z\",\"updated\":\"2026-11-01T08:00:00.000Z\""

static void sites(const struct gen *g, FILE *f)
{
	unsigned k;

	fputs("\"sites\":[\n", f);
	for (k = 0; k < g->sites; k++) {
		fprintf(f, "%s{\"id\":\"sg%u\",\"code\":\"sg%u\",\"title\":{\"en\":\"Site %u\"},\"customFields\":{",
			k ? ",\n" : "", k, k, k);
		if (gen_site_vendor(g, k) == GEN_PTI)
			fprintf(f, "\"pti_siteKey\":\"SK-%u\",\"pti_siteCode\":\"SC-%u\","
				"\"pti_username\":\"operator\",\"pti_password\":\"op-pass\"", k, k);
		fputs("}}", f);
	}
	fputs("\n]", f);
}

static void unit_fields(enum gen_vendor v, unsigned k, unsigned i, FILE *f)
{
	switch (v) {
	case GEN_OT: fprintf(f, "\"opentech_unitId\":\"U%06u\"", i); break;
	case GEN_PTI: fprintf(f, "\"pti_unitName\":\"U%06u\"", i); break;
	case GEN_OA: fprintf(f, "\"openapp_portalIds\":\"P%u-%u\"", k, i); break;
	}
}

static void units(const struct gen *g, FILE *f)
{
	bool first = true;
	unsigned k, i;

	fputs(",\n\"units\":[\n", f);
	for (k = 0; k < g->sites; k++) {
		for (i = 0; i < g->units; i++) {
			fprintf(f, "%s{\"id\":\"u%u-%u\",\"siteId\":\"sg%u\",\"name\":\"U%06u\",\"state\":\"%s\","
				STAMPS ",\"customFields\":{", first ? "" : ",\n", k, i, k, i,
				g->rentals && gen_rented(i) ? "occupied" : "available");
			unit_fields(gen_site_vendor(g, k), k, i, f);
			fputs("}}", f);
			first = false;
		}
	}
	fputs("\n]", f);
}

static void rentals(const struct gen *g, FILE *f)
{
	bool first = true;
	unsigned k, i;
	char code[12];

	fputs(",\n\"unitRentals\":[\n", f);
	for (k = 0; g->rentals && k < g->sites; k++) {
		bool ot = gen_site_vendor(g, k) == GEN_OT;

		for (i = 0; i < g->units; i += 2) {
			fprintf(f, "%s{\"id\":\"r%u-%u\",\"unitId\":\"u%u-%u\",\"siteId\":\"sg%u\",\"ownerId\":\"c%u-%u\","
				"\"state\":\"occupied\",\"startDate\":\"2026-01-01\",\"overdue\":null,\"price\":89.5,"
				"\"deposit\":0,\"invoiceFrequency\":\"monthly\"," STAMPS ",\"customFields\":{",
				first ? "" : ",\n", k, i, k, i, k, k, i);
			if (ot)
				fprintf(f, "\"opentech_accessCode\":\"%s\"", gen_code(k, i, code));
			fputs("}}", f);
			first = false;
		}
	}
	fputs("\n]", f);
}

static void users(const struct gen *g, FILE *f)
{
	bool first = true;
	unsigned k, i;
	char code[12];

	fputs(",\n\"users\":[\n", f);
	for (k = 0; g->rentals && k < g->sites; k++) {
		bool pti = gen_site_vendor(g, k) == GEN_PTI;

		for (i = 0; i < g->units; i += 2) {
			fprintf(f, "%s{\"id\":\"c%u-%u\",\"firstName\":\"F%u\",\"lastName\":\"L%u\","
				"\"email\":\"c%u-%u@example.com\",\"phone\":\"+351 9%02u%06u\",\"overdue\":null,"
				"\"language\":\"en\"," STAMPS ",\"customFields\":{", first ? "" : ",\n", k, i, i, k, k, i, k % 100, i);
			if (pti)
				fprintf(f, "\"pti_accessCode\":\"%s\"", gen_code(k, i, code));
			fputs("}}", f);
			first = false;
		}
	}
	fputs("\n]", f);
}

static void pms_arrays(const struct gen *g, FILE *f)
{
	sites(g, f);
	units(g, f);
	rentals(g, f);
	users(g, f);
}

/* ------------------------------------------------------ vendors' sides */

static void seed_opentech(const struct gen *g, FILE *f)
{
	bool first = true;
	unsigned k, i;

	fputs("\"opentech\":{\"clients\":[{\"client_id\":\"" OT_CLIENT "\",\"client_secret\":\""
	      OT_CLIENT_SECRET "\"}],\n\"accounts\":[{\"api_key\":\"" OT_KEY "\",\"api_secret\":\""
	      OT_SECRET "\",\"facilities\":[", f);
	for (k = 0; k < g->sites; k++) {
		if (gen_site_vendor(g, k) != GEN_OT)
			continue;
		fprintf(f, "%s%u", first ? "" : ",", 100000 + k);
		first = false;
	}
	fputs("]}],\n\"token_ttl\":3600,\"hide_codes\":false,\"latency_ms\":0,\"jitter_ms\":0,\n\"facilities\":[", f);
	first = true;
	for (k = 0; k < g->sites; k++) {
		if (gen_site_vendor(g, k) != GEN_OT)
			continue;
		fprintf(f, "%s{\"id\":%u,\"name\":\"Site %u\",\"propertyNumber\":\"P%u\"}",
			first ? "" : ",\n", 100000 + k, k, k);
		first = false;
	}
	fputs("],\n\"units\":[\n", f);
	first = true;
	for (k = 0; k < g->sites; k++) {
		for (i = 0; gen_site_vendor(g, k) == GEN_OT && i < g->units; i++) {
			fprintf(f, "%s{\"id\":%lld,\"facilityId\":%u,\"unitNumber\":\"U%06u\",\"status\":\"Vacant\"}",
				first ? "" : ",\n", gen_ot_unit_id(k, i), 100000 + k, i);
			first = false;
		}
	}
	fputs("\n],\"visitors\":[]}", f);
}

static void seed_pti(const struct gen *g, FILE *f)
{
	bool first = true;
	unsigned k, i;

	fputs(",\n\"pti\":{\"clients\":[{\"client_id\":\"" PTI_CLIENT "\",\"api_key\":\"" PTI_KEY "\"}],"
	      "\"token_ttl\":3600,\"latency_ms\":0,\"jitter_ms\":0,\n\"sites\":[", f);
	for (k = 0; k < g->sites; k++) {
		if (gen_site_vendor(g, k) != GEN_PTI)
			continue;
		fprintf(f, "%s{\"id\":%u,\"site_key\":\"SK-%u\",\"site_code\":\"SC-%u\","
			"\"username\":\"operator\",\"password\":\"op-pass\"}",
			first ? "" : ",\n", k + 1, k, k);
		first = false;
	}
	fputs("],\n\"units\":[\n", f);
	first = true;
	for (k = 0; k < g->sites; k++) {
		for (i = 0; gen_site_vendor(g, k) == GEN_PTI && i < g->units; i++) {
			fprintf(f, "%s{\"site\":%u,\"name\":\"U%06u\",\"status\":\"vacant\",\"user\":null}",
				first ? "" : ",\n", k + 1, i);
			first = false;
		}
	}
	fputs("\n],\"users\":[],\"cards\":[]}", f);
}

static void seed_openapp(const struct gen *g, FILE *f)
{
	bool first = true;
	unsigned k, i;

	fputs(",\n\"openapp\":{\"api_key\":\"" OA_KEY "\",\"org_id\":\"" OA_ORG "\","
	      "\"latency_ms\":0,\"jitter_ms\":0,\n\"integrations\":[", f);
	for (k = 0; k < g->sites; k++) {
		if (gen_site_vendor(g, k) != GEN_OA)
			continue;
		fprintf(f, "%s{\"id\":\"INT%u\",\"portals\":[{\"id\":\"L%u\",\"name\":\"Lobby\"}",
			first ? "" : ",\n", k, k);
		for (i = 0; i < g->units; i++)
			fprintf(f, ",{\"id\":\"P%u-%u\",\"name\":\"U%06u\"}", k, i, i);
		fputs("]}", f);
		first = false;
	}
	fputs("],\"invites\":[]}", f);
}

/* ------------------------------------------------------------- files */

static int open_out(const char *path, FILE **f, struct rc_err *err)
{
	*f = fopen(path, "w");
	if (!*f)
		return rc_errf(err, RC_EIO, "%s: %s", path, strerror(errno));
	setvbuf(*f, NULL, _IOFBF, 1 << 20);
	return RC_OK;
}

static int close_out(const char *path, FILE *f, struct rc_err *err)
{
	bool bad = ferror(f) != 0;

	if (fclose(f) != 0 || bad)
		return rc_errf(err, RC_EIO, "%s: write failed", path);
	return RC_OK;
}

int gen_write_snapshot(const struct gen *g, const char *path, struct rc_err *err)
{
	FILE *f;
	int rc = open_out(path, &f, err);

	if (rc)
		return rc;
	fputs("{", f);
	pms_arrays(g, f);
	fputs("}\n", f);
	return close_out(path, f, err);
}

int gen_write_seed(const struct gen *g, const char *path, struct rc_err *err)
{
	FILE *f;
	int rc = open_out(path, &f, err);

	if (rc)
		return rc;
	fputs("{\"storeganise\":{\"api_key\":\"" SG_KEY "\",\"jobs\":[],\n", f);
	pms_arrays(g, f);
	fputs("},\n", f);
	seed_opentech(g, f);
	seed_pti(g, f);
	seed_openapp(g, f);
	fputs("}\n", f);
	return close_out(path, f, err);
}

static void spec_site(const struct gen *g, const struct gen_spec *s, unsigned k, FILE *f)
{
	static const char *const names[] = { "opentech", "pti", "openapp" };
	enum gen_vendor v = gen_site_vendor(g, k);

	fprintf(f, "%s{\"name\":\"site%u\",\"pms_site_id\":\"sg%u\",\"vendor\":\"%s\",", k ? ",\n" : "",
		k, k, names[v]);
	if (s->sync_interval)
		fprintf(f, "\"sync_interval\":\"%s\",", s->sync_interval);
	switch (v) {
	case GEN_OT:
		fprintf(f, "\"opentech\":{\"base_url\":\"%s/opentech\",\"property_number\":\"P%u\","
			"\"api_key_env\":\"E2E_OT_API_KEY\",\"api_secret_env\":\"E2E_OT_API_SECRET\","
			"\"client_id_env\":\"E2E_OT_CLIENT_ID\",\"client_secret_env\":\"E2E_OT_CLIENT_SECRET\","
			"\"access_profile_id\":1,\"time_group_id\":0}}", s->sim, k);
		break;
	case GEN_PTI:
		fprintf(f, "\"pti\":{\"base_url\":\"%s/pti\",\"client_id_env\":\"E2E_PTI_CLIENT_ID\","
			"\"api_key_env\":\"E2E_PTI_API_KEY\",\"site_key_site_field\":\"pti_siteKey\","
			"\"site_code_site_field\":\"pti_siteCode\",\"username_site_field\":\"pti_username\","
			"\"password_site_field\":\"pti_password\",\"access_level\":1,\"zone\":1}}", s->sim);
		break;
	case GEN_OA:
		fprintf(f, "\"openapp\":{\"base_url\":\"%s/openapp/api/v1\",\"api_key_env\":\"E2E_OA_API_KEY\","
			"\"org_id\":\"" OA_ORG "\",\"integration_id\":\"INT%u\",\"lobby_portal_ids\":[\"L%u\"],"
			"\"max_uses\":50}}", s->sim, k, k);
		break;
	}
}

int gen_write_spec(const struct gen *g, const struct gen_spec *s, const char *path,
		   struct rc_err *err)
{
	FILE *f;
	unsigned k;
	int rc = open_out(path, &f, err);

	if (rc)
		return rc;
	fprintf(f, "{\"version\":1,\"state_dir\":\"%s\",\n\"pms\":{\"type\":\"storeganise\","
		"\"base_url\":\"%s/storeganise/api\",\"api_key_env\":\"E2E_SG_API_KEY\","
		"\"webhook_secret_env\":\"E2E_SG_WEBHOOK_SECRET\",\"page_size\":1000},\n",
		s->state_dir, s->sim);
	if (s->vendor_concurrency || s->per_address || s->rental_workers) {
		const char *sep = "";

		fputs("\"serve\":{", f);
		if (s->vendor_concurrency) {
			fprintf(f, "\"vendor_concurrency\":%u", s->vendor_concurrency);
			sep = ",";
		}
		if (s->per_address) {
			fprintf(f, "%s\"max_connections_per_address\":%u", sep, s->per_address);
			sep = ",";
		}
		if (s->rental_workers)
			fprintf(f, "%s\"rental_workers\":%u", sep, s->rental_workers);
		fputs("},\n", f);
	}
	fputs("\"sites\":[\n", f);
	for (k = 0; k < g->sites; k++)
		spec_site(g, s, k, f);
	fputs("\n]}\n", f);
	return close_out(path, f, err);
}
