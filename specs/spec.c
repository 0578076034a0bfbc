/*
 * spec.c: loading and validating a spec. See spec.h and specs/README.md.
 *
 * One small reader per object type: it first checks that every key is
 * known (an inline secret gets a message of its own), then reads members
 * with typed helpers that report "<file>: <json path>: <problem>".
 */
#define _GNU_SOURCE
#include "spec.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ld {
	const char *file;
	const char *dir;
	struct rc_err *err;
};

static int fail(struct ld *l, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct ld *l, const char *path, const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rc_errf(l->err, RC_EINVAL, "%s: %s: %s", l->file, path, msg);
}

const char *vendor_kind_name(enum vendor_kind v)
{
	switch (v) {
	case VENDOR_OPENTECH: return "opentech";
	case VENDOR_PTI: return "pti";
	case VENDOR_OPENAPP: return "openapp";
	default: return "none";
	}
}

static const char *const secret_words[] = { "key", "secret", "password", "token", "username",
					    "code", NULL };

static bool looks_secret(const char *k)
{
	size_t i;

	for (i = 0; secret_words[i]; i++)
		if (strstr(k, secret_words[i]))
			return true;
	return false;
}

/* Every key of o must be in allowed[]. */
static int check_keys(struct ld *l, json_t *o, const char *path,
		      const char *const *allowed)
{
	const char *k;
	json_t *v;
	size_t i;
	char env[96];

	if (!json_is_object(o))
		return fail(l, path, "expected an object");
	json_object_foreach(o, k, v) {
		for (i = 0; allowed[i] && strcmp(allowed[i], k); i++)
			;
		if (allowed[i])
			continue;
		snprintf(env, sizeof(env), "%s_env", k);
		for (i = 0; allowed[i] && strcmp(allowed[i], env); i++)
			;
		if (allowed[i] || looks_secret(k))
			return fail(l, path, "\"%s\": inline secrets are not allowed; use %s_env or %s_file",
				    k, k, k);
		return fail(l, path, "unknown key \"%s\"", k);
	}
	return RC_OK;
}

static char *sub(const char *path, const char *k)
{
	return rc_sprintf("%s.%s", path, k);
}

static int get_str(struct ld *l, json_t *o, const char *path, const char *k,
		   bool required, char **out)
{
	json_t *v = json_object_get(o, k);
	char *p;
	int rc = RC_OK;

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (!required)
			return RC_OK;
		p = sub(path, k);
		rc = fail(l, p, "required");
		free(p);
		return rc;
	}
	if (!json_is_string(v) || !json_string_length(v)) {
		p = sub(path, k);
		rc = fail(l, p, "expected a non-empty string");
		free(p);
		return rc;
	}
	*out = rc_strdup(json_string_value(v));
	return RC_OK;
}

static int get_int(struct ld *l, json_t *o, const char *path, const char *k,
		   long min, long max, long dflt, long *out)
{
	json_t *v = json_object_get(o, k);
	char *p;
	int rc;

	*out = dflt;
	if (!v || json_is_null(v))
		return RC_OK;
	if (json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max) {
		*out = (long)json_integer_value(v);
		return RC_OK;
	}
	p = sub(path, k);
	rc = fail(l, p, "expected an integer from %ld to %ld", min, max);
	free(p);
	return rc;
}

static int get_bool(struct ld *l, json_t *o, const char *path, const char *k,
		    bool dflt, bool *out)
{
	json_t *v = json_object_get(o, k);
	char *p;
	int rc;

	*out = dflt;
	if (!v)
		return RC_OK;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return RC_OK;
	}
	p = sub(path, k);
	rc = fail(l, p, "expected true or false");
	free(p);
	return rc;
}

static char *resolve_path(struct ld *l, const char *f)
{
	return f[0] == '/' ? rc_strdup(f) : rc_sprintf("%s/%s", l->dir, f);
}

/* A credential: exactly one of <base>_env, <base>_file (, <base>_site_field). */
static int get_secret(struct ld *l, json_t *o, const char *path, const char *base,
		      bool site_field, bool required, struct spec_secret *out)
{
	char ke[64], kf[64], ks[64];
	char *p = sub(path, base);
	int n = 0, rc = RC_OK;

	snprintf(ke, sizeof(ke), "%s_env", base);
	snprintf(kf, sizeof(kf), "%s_file", base);
	snprintf(ks, sizeof(ks), "%s_site_field", base);
	rc = get_str(l, o, path, ke, false, &out->env);
	if (!rc)
		rc = get_str(l, o, path, kf, false, &out->file);
	if (!rc && site_field)
		rc = get_str(l, o, path, ks, false, &out->site_field);
	if (rc)
		goto out;
	n = !!out->env + !!out->file + !!out->site_field;
	if (n > 1)
		rc = fail(l, p, "give only one of %s, %s%s%s", ke, kf, site_field ? " or " : "",
			  site_field ? ks : "");
	else if (!n && required)
		rc = fail(l, p, "required: set %s (environment variable) or %s (file)%s%s", ke, kf,
			  site_field ? " or " : "", site_field ? ks : "");
	if (!rc && out->file) {
		char *abs = resolve_path(l, out->file);

		free(out->file);
		out->file = abs;
	}
out:
	free(p);
	return rc;
}

static void free_secret(struct spec_secret *s)
{
	free(s->env);
	free(s->file);
	free(s->site_field);
}

bool spec_secret_set(const struct spec_secret *s)
{
	return s->env || s->file || s->site_field;
}

int spec_secret_read(const struct spec_secret *s, const char *what,
		     const char *site_cf_value, char **out, struct rc_err *err)
{
	struct rc_err ferr;
	char *data = NULL;
	const char *v;

	*out = NULL;
	if (s->env) {
		v = getenv(s->env);
		if (!v || !*v)
			return rc_errf(err, RC_EINVAL, "%s is not set (needed for %s)", s->env, what);
		*out = rc_strdup(v);
		return RC_OK;
	}
	if (s->file) {
		if (rc_read_file(s->file, &data, NULL, &ferr))
			return rc_errf(err, RC_EIO, "cannot read %s (needed for %s): %s", s->file,
				       what, strerror(errno));
		data[strcspn(data, "\r\n")] = '\0';
		if (!*data) {
			rc_free_secret(data);
			return rc_errf(err, RC_EINVAL, "%s is empty (needed for %s)", s->file, what);
		}
		*out = data;
		return RC_OK;
	}
	if (s->site_field) {
		if (!site_cf_value || !*site_cf_value)
			return rc_errf(err, RC_EINVAL,
				       "the PMS site custom field %s is empty (needed for %s)",
				       s->site_field, what);
		*out = rc_strdup(site_cf_value);
		return RC_OK;
	}
	return rc_errf(err, RC_EINVAL, "no credential configured for %s", what);
}

/* ---------------------------------------------------------- objects */

static int load_pms(struct ld *l, json_t *o, struct spec_pms *p)
{
	static const char *const keys[] = { "type", "base_url", "api_key_env", "api_key_file",
		"webhook_secret_env", "webhook_secret_file", "page_size", NULL };
	const char *path = "$.pms";
	long n = 0;
	int rc;

	if (!o)
		return fail(l, path, "required");
	rc = check_keys(l, o, path, keys);
	if (!rc)
		rc = get_str(l, o, path, "type", true, &p->type);
	if (!rc && strcmp(p->type, "storeganise"))
		rc = fail(l, "$.pms.type", "must be \"storeganise\"");
	if (!rc)
		rc = get_str(l, o, path, "base_url", true, &p->base_url);
	if (!rc && strncmp(p->base_url, "http://", 7) && strncmp(p->base_url, "https://", 8))
		rc = fail(l, "$.pms.base_url", "must start with http:// or https://");
	if (!rc)
		rc = get_secret(l, o, path, "api_key", false, true, &p->api_key);
	if (!rc)
		rc = get_secret(l, o, path, "webhook_secret", false, false, &p->webhook_secret);
	if (!rc)
		rc = get_int(l, o, path, "page_size", 1, 1000, 1000, &n);
	p->page_size = (unsigned)n;
	return rc;
}

static int parse_duration(const char *s, long *out)
{
	char *end;
	long n, mult;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || n < 0)
		return -1;
	if (!strcmp(end, "s") || !*end)
		mult = 1;
	else if (!strcmp(end, "m"))
		mult = 60;
	else if (!strcmp(end, "h"))
		mult = 3600;
	else if (!strcmp(end, "d"))
		mult = 86400;
	else
		return -1;
	if (n > LONG_MAX / mult)
		return -1;
	*out = n * mult;
	return 0;
}

/* A duration: "90s", "15m", "1h", "7d" or whole seconds; at least min_s,
 * or 0 when zero_ok. dflt when absent. */
static int get_duration(struct ld *l, json_t *o, const char *path, const char *key,
			long min_s, bool zero_ok, long dflt, long *out)
{
	json_t *v = json_object_get(o, key);
	long n = -1;

	*out = dflt;
	if (!v)
		return RC_OK;
	if (json_is_integer(v))
		n = (long)json_integer_value(v);
	else if (!json_is_string(v) || parse_duration(json_string_value(v), &n))
		n = -1;
	if (n < 0 || n > 10L * 365 * 86400 || (n < min_s && !(zero_ok && n == 0)))
		return fail(l, path, "%s: a duration like \"90s\", \"15m\", \"1h\", \"7d\" (at least %ld s%s)",
			    key, min_s, zero_ok ? ", or 0 to keep forever" : "");
	*out = n;
	return RC_OK;
}

static int load_retention(struct ld *l, json_t *o, struct spec_retention *r)
{
	static const char *const keys[] = { "events", "journal", NULL };
	int rc = RC_OK;

	if (o && !json_is_object(o))
		return fail(l, "$.retention", "expected an object like {\"events\": \"7d\", \"journal\": \"180d\"}");
	if (o)
		rc = check_keys(l, o, "$.retention", keys);
	if (!rc)
		rc = get_duration(l, o, "$.retention", "events", 3600, true, 7 * 86400L, &r->events_s);
	if (!rc)
		rc = get_duration(l, o, "$.retention", "journal", 86400, true, 180 * 86400L, &r->journal_s);
	return rc;
}

static int load_serve(struct ld *l, json_t *o, struct spec_serve *s)
{
	static const char *const keys[] = { "listen", "max_body", "vendor_concurrency", "workers", NULL };
	long n = 0, c = 0, w = 0;
	int rc = RC_OK;

	if (o)
		rc = check_keys(l, o, "$.serve", keys);
	if (!rc)
		rc = get_str(l, o, "$.serve", "listen", false, &s->listen);
	if (!rc && !s->listen)
		s->listen = rc_strdup("127.0.0.1:8080");
	if (!rc)
		rc = get_int(l, o, "$.serve", "max_body", 1024, 16 << 20, 1 << 20, &n);
	if (!rc)
		rc = get_int(l, o, "$.serve", "vendor_concurrency", 1, 64, 4, &c);
	if (!rc)
		rc = get_int(l, o, "$.serve", "workers", 1, 256, 8, &w);
	s->max_body = (unsigned)n;
	s->workers = (unsigned)w;
	s->vendor_concurrency = (unsigned)c;
	return rc;
}

#define FIELD(m, dflt) { #m, offsetof(struct spec_fields, m), dflt }
static const struct { const char *key; size_t off; const char *dflt; } field_tab[] = {
	FIELD(ot_unit_id, "opentech_unitId"), FIELD(ot_access_profile, "opentech_accessProfileId"),
	FIELD(ot_time_group, "opentech_timeGroupId"), FIELD(ot_access_code, "opentech_accessCode"),
	FIELD(ot_overlocked, "opentech_overlocked"), FIELD(ot_resync, "opentech_resync"),
	FIELD(pti_unit_name, "pti_unitName"), FIELD(pti_access_code, "pti_accessCode"),
	FIELD(pti_user_id, "pti_userId"), FIELD(pti_zone, "pti_zone"),
	FIELD(pti_access_level, "pti_accessLevel"), FIELD(pti_regenerate, "pti_regenerateCode"),
	FIELD(pti_synced, "pti_synced"), FIELD(pti_overlocked, "pti_overlocked"),
	FIELD(oa_portal_ids, "openapp_portalIds"), FIELD(oa_invite_url, "openapp_inviteUrl"),
};
#define NFIELDS (sizeof(field_tab) / sizeof(field_tab[0]))

static bool code_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 64 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static int load_fields(struct ld *l, json_t *o, const char *path, struct spec_fields *f)
{
	const char *keys[NFIELDS + 1];
	size_t i;
	int rc = RC_OK;

	for (i = 0; i < NFIELDS; i++)
		keys[i] = field_tab[i].key;
	keys[NFIELDS] = NULL;
	if (o)
		rc = check_keys(l, o, path, keys);
	for (i = 0; !rc && i < NFIELDS; i++) {
		char **slot = (char **)((char *)f + field_tab[i].off);

		rc = get_str(l, o, path, field_tab[i].key, false, slot);
		if (!rc && *slot && !code_ok(*slot)) {
			char *p = sub(path, field_tab[i].key);

			rc = fail(l, p, "custom-field codes are letters, digits and _ (at most 64)");
			free(p);
		}
		if (!rc && !*slot)
			*slot = rc_strdup(field_tab[i].dflt);
	}
	return rc;
}

static void free_fields(struct spec_fields *f)
{
	size_t i;

	for (i = 0; i < NFIELDS; i++)
		free(*(char **)((char *)f + field_tab[i].off));
}

static int load_opentech(struct ld *l, json_t *o, const char *path, struct spec_opentech *ot)
{
	static const char *const keys[] = { "environment", "base_url", "property_number",
		"api_key_env", "api_key_file", "api_secret_env", "api_secret_file",
		"client_id_env", "client_id_file", "client_secret_env", "client_secret_file",
		"access_profile_id", "time_group_id", NULL };
	int rc = check_keys(l, o, path, keys);

	if (!rc)
		rc = get_str(l, o, path, "environment", false, &ot->environment);
	if (!rc)
		rc = get_str(l, o, path, "base_url", false, &ot->base_url);
	if (!rc && !!ot->environment == !!ot->base_url)
		rc = fail(l, path, "give exactly one of \"environment\" (production or testing) or \"base_url\"");
	if (!rc && ot->environment && strcmp(ot->environment, "production") &&
	    strcmp(ot->environment, "testing"))
		rc = fail(l, path, "environment must be \"production\" or \"testing\"");
	if (!rc)
		rc = get_str(l, o, path, "property_number", true, &ot->property_number);
	if (!rc)
		rc = get_secret(l, o, path, "api_key", false, true, &ot->api_key);
	if (!rc)
		rc = get_secret(l, o, path, "api_secret", false, true, &ot->api_secret);
	if (!rc)
		rc = get_secret(l, o, path, "client_id", false, true, &ot->client_id);
	if (!rc)
		rc = get_secret(l, o, path, "client_secret", false, true, &ot->client_secret);
	if (!rc)
		rc = get_int(l, o, path, "access_profile_id", 0, LONG_MAX, -1, &ot->access_profile_id);
	if (!rc)
		rc = get_int(l, o, path, "time_group_id", 0, LONG_MAX, -1, &ot->time_group_id);
	return rc;
}

static int load_pti(struct ld *l, json_t *o, const char *path, struct spec_pti *p)
{
	static const char *const keys[] = { "base_url", "client_id_env", "client_id_file",
		"api_key_env", "api_key_file", "site_key_env", "site_key_file", "site_key_site_field",
		"site_code_env", "site_code_file", "site_code_site_field", "username_env",
		"username_file", "username_site_field", "password_env", "password_file",
		"password_site_field", "access_level", "zone", NULL };
	int rc = check_keys(l, o, path, keys);

	if (!rc)
		rc = get_str(l, o, path, "base_url", true, &p->base_url);
	if (!rc)
		rc = get_secret(l, o, path, "client_id", false, true, &p->client_id);
	if (!rc)
		rc = get_secret(l, o, path, "api_key", false, true, &p->api_key);
	if (!rc)
		rc = get_secret(l, o, path, "site_key", true, true, &p->site_key);
	if (!rc)
		rc = get_secret(l, o, path, "site_code", true, true, &p->site_code);
	if (!rc)
		rc = get_secret(l, o, path, "username", true, true, &p->username);
	if (!rc)
		rc = get_secret(l, o, path, "password", true, true, &p->password);
	if (!rc)
		rc = get_int(l, o, path, "access_level", 0, LONG_MAX, -1, &p->access_level);
	if (!rc)
		rc = get_int(l, o, path, "zone", 0, LONG_MAX, -1, &p->zone);
	return rc;
}

static int load_openapp(struct ld *l, json_t *o, const char *path, struct spec_openapp *a)
{
	static const char *const keys[] = { "base_url", "api_key_env", "api_key_file", "org_id",
		"integration_id", "lobby_portal_ids", "max_uses", "validity_days",
		"delete_on_vacate", NULL };
	json_t *lp = json_object_get(o, "lobby_portal_ids"), *v;
	size_t i;
	int rc = check_keys(l, o, path, keys);

	if (!rc)
		rc = get_str(l, o, path, "base_url", true, &a->base_url);
	if (!rc)
		rc = get_secret(l, o, path, "api_key", false, true, &a->api_key);
	if (!rc)
		rc = get_str(l, o, path, "org_id", true, &a->org_id);
	if (!rc)
		rc = get_str(l, o, path, "integration_id", true, &a->integration_id);
	if (!rc)
		rc = get_int(l, o, path, "max_uses", 1, LONG_MAX, -1, &a->max_uses);
	if (!rc)
		rc = get_int(l, o, path, "validity_days", 0, 36500, 0, &a->validity_days);
	if (!rc)
		rc = get_bool(l, o, path, "delete_on_vacate", false, &a->delete_on_vacate);
	if (!rc && lp && !json_is_array(lp))
		rc = fail(l, path, "lobby_portal_ids: expected an array of strings");
	if (!rc && lp) {
		a->lobby_portal_ids = rc_calloc(json_array_size(lp) + 1, sizeof(char *));
		json_array_foreach(lp, i, v) {
			if (!json_is_string(v)) {
				rc = fail(l, path, "lobby_portal_ids[%zu]: expected a string", i);
				break;
			}
			a->lobby_portal_ids[a->nlobby_portal_ids++] = rc_strdup(json_string_value(v));
		}
	}
	return rc;
}

static int load_site_basics(struct ld *l, json_t *o, const char *path, struct spec_site *s)
{
	json_t *v;
	char *vendor = NULL;
	long n = 0;
	int rc;

	rc = get_str(l, o, path, "name", true, &s->name);
	if (!rc && (strlen(s->name) > 64 ||
		    strspn(s->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") !=
			    strlen(s->name)))
		rc = fail(l, path, "name: letters, digits, '_', '.', '-' only (at most 64)");
	if (!rc)
		rc = get_str(l, o, path, "pms_site_id", true, &s->pms_site_id);
	if (!rc)
		rc = get_str(l, o, path, "vendor", true, &vendor);
	if (!rc) {
		s->vendor = !strcmp(vendor, "opentech") ? VENDOR_OPENTECH
			  : !strcmp(vendor, "pti") ? VENDOR_PTI
			  : !strcmp(vendor, "openapp") ? VENDOR_OPENAPP : VENDOR_NONE;
		if (s->vendor == VENDOR_NONE)
			rc = fail(l, path, "vendor: must be \"opentech\", \"pti\" or \"openapp\"");
	}
	free(vendor);
	s->max_destructive = 0.10;
	v = json_object_get(o, "max_destructive");
	if (!rc && v) {
		if (!json_is_number(v) || json_number_value(v) <= 0 || json_number_value(v) > 1)
			rc = fail(l, path, "max_destructive: expected a number in (0, 1], e.g. 0.10");
		else
			s->max_destructive = json_number_value(v);
	}
	if (!rc)
		rc = get_int(l, o, path, "max_destructive_min", 0, 1000000, 3, &n);
	s->max_destructive_min = (unsigned)n;
	if (!rc)
		rc = get_int(l, o, path, "code_length", 4, 10, 6, &n);
	s->code_length = (unsigned)n;
	if (!rc)
		rc = get_duration(l, o, path, "sync_interval", 10, false, 900, &n);
	s->sync_interval_s = rc ? 900 : (unsigned)n;
	return rc;
}

static int load_site(struct ld *l, json_t *o, size_t idx, struct spec_site *s)
{
	static const char *const keys[] = { "name", "pms_site_id", "vendor", "max_destructive",
		"max_destructive_min", "code_length", "sync_interval", "fields", "opentech", "pti",
		"openapp", NULL };
	static const char *const vobj[] = { NULL, "opentech", "pti", "openapp" };
	char *path = rc_sprintf("$.sites[%zu]", idx), *vp = NULL;
	int rc, k;

	rc = check_keys(l, o, path, keys);
	if (!rc)
		rc = load_site_basics(l, o, path, s);
	if (!rc) {
		char *fp = sub(path, "fields");

		rc = load_fields(l, json_object_get(o, "fields"), fp, &s->fields);
		free(fp);
	}
	for (k = 1; !rc && k <= 3; k++) {
		json_t *v = json_object_get(o, vobj[k]);

		if (k != (int)s->vendor && v)
			rc = fail(l, path, "\"%s\" settings given but vendor is \"%s\"", vobj[k],
				  vendor_kind_name(s->vendor));
		else if (k == (int)s->vendor && !v)
			rc = fail(l, path, "vendor %s needs a \"%s\" object with its settings", vobj[k],
				  vobj[k]);
	}
	if (!rc) {
		vp = sub(path, vobj[s->vendor]);
		json_t *v = json_object_get(o, vobj[s->vendor]);

		if (s->vendor == VENDOR_OPENTECH)
			rc = load_opentech(l, v, vp, &s->opentech);
		else if (s->vendor == VENDOR_PTI)
			rc = load_pti(l, v, vp, &s->pti);
		else
			rc = load_openapp(l, v, vp, &s->openapp);
	}
	free(vp);
	free(path);
	return rc;
}

static int load_root(struct ld *l, json_t *root, struct spec *s)
{
	static const char *const keys[] = { "version", "state_dir", "pms", "serve", "retention",
					    "sites", NULL };
	json_t *sites = json_object_get(root, "sites"), *v;
	char *sd = NULL;
	size_t i, j;
	long ver = 1;
	int rc;

	rc = check_keys(l, root, "$", keys);
	if (!rc && !json_object_get(root, "version"))
		rc = fail(l, "$.version", "required (1)");
	if (!rc)
		rc = get_int(l, root, "$", "version", 1, 1, 1, &ver);
	s->version = (int)ver;
	if (!rc)
		rc = get_str(l, root, "$", "state_dir", false, &sd);
	if (!rc) {
		s->state_dir = resolve_path(l, sd ? sd : ".reconcile-state");
		free(sd);
	}
	if (!rc)
		rc = load_pms(l, json_object_get(root, "pms"), &s->pms);
	if (!rc)
		rc = load_serve(l, json_object_get(root, "serve"), &s->serve);
	if (!rc)
		rc = load_retention(l, json_object_get(root, "retention"), &s->retention);
	if (!rc && (!json_is_array(sites) || !json_array_size(sites)))
		rc = fail(l, "$.sites", "expected a non-empty array of sites");
	if (rc)
		return rc;
	s->sites = rc_calloc(json_array_size(sites) + 1, sizeof(*s->sites));
	json_array_foreach(sites, i, v) {
		s->nsites++;
		rc = load_site(l, v, i, &s->sites[i]);
		for (j = 0; !rc && j < i; j++) {
			if (!strcmp(s->sites[j].name, s->sites[i].name))
				rc = fail(l, "$.sites", "site name \"%s\" is used twice", s->sites[i].name);
			else if (!strcmp(s->sites[j].pms_site_id, s->sites[i].pms_site_id))
				rc = fail(l, "$.sites", "pms_site_id %s is used by two sites",
					  s->sites[i].pms_site_id);
		}
		if (rc)
			return rc;
	}
	return RC_OK;
}

int spec_load_buf(const char *buf, size_t len, const char *name,
		  struct spec **out, struct rc_err *err)
{
	struct spec *s = rc_calloc(1, sizeof(*s));
	char *copy = rc_strdup(name), *dir;
	struct ld l = { name, NULL, err };
	json_error_t je;
	json_t *root;
	int rc;

	*out = NULL;
	dir = dirname(copy);
	s->path = rc_strdup(name);
	s->dir = rc_strdup(dir);
	free(copy);
	l.dir = s->dir;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		rc = rc_errf(err, RC_EINVAL, "%s:%d:%d: %s", name, je.line, je.column, je.text);
		spec_free(s);
		return rc;
	}
	rc = load_root(&l, root, s);
	json_decref(root);
	if (rc) {
		spec_free(s);
		return rc;
	}
	*out = s;
	return RC_OK;
}

int spec_load(const char *path, struct spec **out, struct rc_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = rc_read_file(path, &buf, &len, err);
	if (rc)
		return rc;
	rc = spec_load_buf(buf, len, path, out, err);
	free(buf);
	return rc;
}

void spec_free(struct spec *s)
{
	size_t i, k;

	if (!s)
		return;
	for (i = 0; i < s->nsites; i++) {
		struct spec_site *x = &s->sites[i];

		free(x->name);
		free(x->pms_site_id);
		free_fields(&x->fields);
		free(x->opentech.environment);
		free(x->opentech.base_url);
		free(x->opentech.property_number);
		free_secret(&x->opentech.api_key);
		free_secret(&x->opentech.api_secret);
		free_secret(&x->opentech.client_id);
		free_secret(&x->opentech.client_secret);
		free(x->pti.base_url);
		free_secret(&x->pti.client_id);
		free_secret(&x->pti.api_key);
		free_secret(&x->pti.site_key);
		free_secret(&x->pti.site_code);
		free_secret(&x->pti.username);
		free_secret(&x->pti.password);
		free(x->openapp.base_url);
		free_secret(&x->openapp.api_key);
		free(x->openapp.org_id);
		free(x->openapp.integration_id);
		for (k = 0; k < x->openapp.nlobby_portal_ids; k++)
			free(x->openapp.lobby_portal_ids[k]);
		free(x->openapp.lobby_portal_ids);
	}
	free(s->sites);
	free(s->pms.type);
	free(s->pms.base_url);
	free_secret(&s->pms.api_key);
	free_secret(&s->pms.webhook_secret);
	free(s->serve.listen);
	free(s->state_dir);
	free(s->path);
	free(s->dir);
	free(s);
}

const struct spec_site *spec_find_site(const struct spec *s, const char *name)
{
	size_t i;

	for (i = 0; name && i < s->nsites; i++)
		if (!strcmp(s->sites[i].name, name))
			return &s->sites[i];
	return NULL;
}

const struct spec_site *spec_find_site_by_pms_id(const struct spec *s,
						  const char *pms_site_id)
{
	size_t i;

	for (i = 0; pms_site_id && i < s->nsites; i++)
		if (!strcmp(s->sites[i].pms_site_id, pms_site_id))
			return &s->sites[i];
	return NULL;
}
