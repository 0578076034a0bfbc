/*
 * spec.c: loading and validating a spec. See spec.h and specs/README.md.
 *
 * One small reader per object type: it first checks that every key is
 * known (an inline secret gets a message of its own), then reads members
 * with typed helpers that report "<file>: <json path>: <problem>".
 */
#define _GNU_SOURCE
#include "spec_int.h"
#include "spec_cluster.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int spec_fail(struct spec_ld *l, const char *path, const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rc_errf(l->err, RC_EINVAL, "%s: %s: %s", l->file, path, msg);
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

/* <base>_credential is allowed wherever <base>_file is. */
static bool credential_key_allowed(const char *k, const char *const *allowed)
{
	static const char suffix[] = "_credential";
	size_t n = strlen(k), s = sizeof(suffix) - 1, i;
	char file[96];

	if (n <= s || strcmp(k + n - s, suffix) || n - s + 6 > sizeof(file))
		return false;
	snprintf(file, sizeof(file), "%.*s_file", (int)(n - s), k);
	for (i = 0; allowed[i]; i++)
		if (!strcmp(allowed[i], file))
			return true;
	return false;
}

/* Every key of o must be in allowed[]. */
int spec_check_keys(struct spec_ld *l, json_t *o, const char *path,
		      const char *const *allowed)
{
	const char *k;
	json_t *v;
	size_t i;
	char env[96];

	if (!json_is_object(o))
		return spec_fail(l, path, "expected an object");
	json_object_foreach(o, k, v) {
		for (i = 0; allowed[i] && strcmp(allowed[i], k); i++)
			;
		if (allowed[i])
			continue;
		if (credential_key_allowed(k, allowed))
			continue;
		snprintf(env, sizeof(env), "%s_env", k);
		for (i = 0; allowed[i] && strcmp(allowed[i], env); i++)
			;
		if (allowed[i] || looks_secret(k))
			return spec_fail(l, path, "\"%s\": inline secrets are not allowed; use %s_env or %s_file",
				    k, k, k);
		return spec_fail(l, path, "unknown key \"%s\"", k);
	}
	return RC_OK;
}

static char *sub(const char *path, const char *k)
{
	return rc_sprintf("%s.%s", path, k);
}

int spec_get_str(struct spec_ld *l, json_t *o, const char *path, const char *k,
		   bool required, char **out)
{
	json_t *v = json_object_get(o, k);
	char *p;
	int rc = RC_OK;

	*out = NULL;
	if (!v) { /* null is a wrong type, as the schema says */
		if (!required)
			return RC_OK;
		p = sub(path, k);
		rc = spec_fail(l, p, "required");
		free(p);
		return rc;
	}
	if (!json_is_string(v) || !json_string_length(v)) {
		p = sub(path, k);
		rc = spec_fail(l, p, "expected a non-empty string");
		free(p);
		return rc;
	}
	*out = rc_strdup(json_string_value(v));
	return RC_OK;
}

int spec_get_int(struct spec_ld *l, json_t *o, const char *path, const char *k,
		   long min, long max, long dflt, long *out)
{
	json_t *v = json_object_get(o, k);
	char *p;
	int rc;

	*out = dflt;
	/* null is "none" where absence is (dflt -1: max_uses, access levels,
	 * profiles...); elsewhere a wrong type (the schema agrees) */
	if (!v || (json_is_null(v) && dflt == -1))
		return RC_OK;
	if (json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max) {
		*out = (long)json_integer_value(v);
		return RC_OK;
	}
	p = sub(path, k);
	rc = spec_fail(l, p, "expected an integer from %ld to %ld", min, max);
	free(p);
	return rc;
}

int spec_get_bool(struct spec_ld *l, json_t *o, const char *path, const char *k,
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
	rc = spec_fail(l, p, "expected true or false");
	free(p);
	return rc;
}

int spec_get_url(struct spec_ld *l, json_t *o, const char *path, const char *k,
		 bool required, char **out)
{
	char *p;
	size_t n;
	int rc = spec_get_str(l, o, path, k, required, out);

	if (rc || !*out)
		return rc;
	if (strncmp(*out, "http://", 7) && strncmp(*out, "https://", 8)) {
		p = sub(path, k);
		rc = spec_fail(l, p, "must start with http:// or https://");
		free(p);
		free(*out);
		*out = NULL;
		return rc;
	}
	n = strlen(*out);
	while (n && (*out)[n - 1] == '/')
		(*out)[--n] = '\0';
	return RC_OK;
}

int spec_get_strs(struct spec_ld *l, json_t *o, const char *path, const char *k,
		  char ***out, size_t *n)
{
	json_t *a = json_object_get(o, k), *v;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!a)
		return RC_OK;
	if (!json_is_array(a))
		return spec_fail(l, path, "%s: expected an array of strings", k);
	*out = rc_calloc(json_array_size(a) + 1, sizeof(char *));
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || !json_string_length(v)) {
			spec_strs_free(*out, *n);
			*out = NULL;
			*n = 0;
			return spec_fail(l, path, "%s[%zu]: expected a non-empty string", k, i);
		}
		(*out)[(*n)++] = rc_strdup(json_string_value(v));
	}
	return RC_OK;
}

static char *resolve_path(struct spec_ld *l, const char *f)
{
	return f[0] == '/' ? rc_strdup(f) : rc_sprintf("%s/%s", l->dir, f);
}

/* A credential: exactly one of <base>_env, <base>_file, <base>_credential
 * (, <base>_site_field). */
int spec_get_secret(struct spec_ld *l, json_t *o, const char *path, const char *base,
		      bool site_field, bool required, struct spec_secret *out)
{
	char ke[64], kf[64], ks[64], kc[64];
	char *p = sub(path, base);
	int n = 0, rc = RC_OK;

	snprintf(ke, sizeof(ke), "%s_env", base);
	snprintf(kf, sizeof(kf), "%s_file", base);
	snprintf(ks, sizeof(ks), "%s_site_field", base);
	snprintf(kc, sizeof(kc), "%s_credential", base);
	rc = spec_get_str(l, o, path, ke, false, &out->env);
	if (!rc)
		rc = spec_get_str(l, o, path, kf, false, &out->file);
	if (!rc)
		rc = spec_get_str(l, o, path, kc, false, &out->credential);
	if (!rc && site_field)
		rc = spec_get_str(l, o, path, ks, false, &out->site_field);
	if (rc)
		goto out;
	n = !!out->env + !!out->file + !!out->credential + !!out->site_field;
	if (n > 1)
		rc = spec_fail(l, p, "give only one of %s, %s, %s%s%s", ke, kf, kc,
			  site_field ? " or " : "", site_field ? ks : "");
	else if (!n && required)
		rc = spec_fail(l, p, "required: set %s (environment variable), %s (file) or %s "
			  "(systemd credential)%s%s", ke, kf, kc, site_field ? " or " : "",
			  site_field ? ks : "");
	else if (out->credential && (strchr(out->credential, '/') ||
				     !strcmp(out->credential, ".") || !strcmp(out->credential, "..")))
		rc = spec_fail(l, p, "%s: a credential name, not a path (no '/')", kc);
	if (!rc && out->file) {
		char *abs = resolve_path(l, out->file);

		free(out->file);
		out->file = abs;
	}
out:
	free(p);
	return rc;
}

void spec_secret_free(struct spec_secret *s)
{
	free(s->env);
	free(s->file);
	free(s->site_field);
	free(s->credential);
}

bool spec_secret_set(const struct spec_secret *s)
{
	return s->env || s->file || s->credential || s->site_field;
}

/* The first line of the secret file path (new, rc_free_secret) into *out. */
static int read_secret_file(const char *path, const char *what, char **out, struct rc_err *err)
{
	struct rc_err ferr;
	char *data = NULL;

	if (rc_read_file_max(path, "a secret file", RC_CAP_SECRET, &data, NULL, &ferr))
		return rc_errf(err, ferr.code, "cannot read %s (needed for %s)", ferr.msg, what);
	data[strcspn(data, "\r\n")] = '\0';
	if (!*data) {
		rc_free_secret(data);
		return rc_errf(err, RC_EINVAL, "%s is empty (needed for %s)", path, what);
	}
	*out = data;
	return RC_OK;
}

int spec_secret_read(const struct spec_secret *s, const char *what,
		     const char *site_cf_value, char **out, struct rc_err *err)
{
	const char *v;

	*out = NULL;
	if (s->env) {
		v = getenv(s->env);
		if (!v || !*v)
			return rc_errf(err, RC_EINVAL, "%s is not set (needed for %s)", s->env, what);
		*out = rc_strdup(v);
		return RC_OK;
	}
	if (s->file)
		return read_secret_file(s->file, what, out, err);
	if (s->credential) {
		char *path;
		int rc;

		v = getenv("CREDENTIALS_DIRECTORY");
		if (!v || !*v)
			return rc_errf(err, RC_EINVAL, "credential %s: CREDENTIALS_DIRECTORY is not set "
				       "(needed for %s; systemd sets it with LoadCredential=)",
				       s->credential, what);
		path = rc_sprintf("%s/%s", v, s->credential);
		rc = read_secret_file(path, what, out, err);
		free(path);
		return rc;
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

static int load_pms(struct spec_ld *l, json_t *o, struct spec_pms *p)
{
	static const char *const keys[] = { "type", "base_url", "api_key_env", "api_key_file",
		"webhook_secret_env", "webhook_secret_file", "page_size", NULL };
	const char *path = "$.pms";
	long n = 0;
	int rc;

	if (!o)
		return spec_fail(l, path, "required");
	rc = spec_check_keys(l, o, path, keys);
	if (!rc)
		rc = spec_get_str(l, o, path, "type", true, &p->type);
	if (!rc && strcmp(p->type, "storeganise"))
		rc = spec_fail(l, "$.pms.type", "must be \"storeganise\"");
	if (!rc)
		rc = spec_get_url(l, o, path, "base_url", true, &p->base_url);
	if (!rc)
		rc = spec_get_secret(l, o, path, "api_key", false, true, &p->api_key);
	if (!rc)
		rc = spec_get_secret(l, o, path, "webhook_secret", false, false, &p->webhook_secret);
	if (!rc)
		rc = spec_get_int(l, o, path, "page_size", 1, 1000, 1000, &n);
	p->page_size = (unsigned)n;
	return rc;
}

static int parse_duration(const char *s, long *out)
{
	char *end;
	long n, mult;

	if (!isdigit((unsigned char)s[0]))
		return -1; /* no sign, no space: what the schema's pattern says */
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
static int get_duration(struct spec_ld *l, json_t *o, const char *path, const char *key,
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
		return spec_fail(l, path, "%s: a duration like \"90s\", \"15m\", \"1h\", \"7d\" (at least %ld s%s)",
			    key, min_s, zero_ok ? ", or 0 to keep forever" : "");
	*out = n;
	return RC_OK;
}

static int load_retention(struct spec_ld *l, json_t *o, struct spec_retention *r)
{
	static const char *const keys[] = { "events", "journal", NULL };
	int rc = RC_OK;

	if (o && !json_is_object(o))
		return spec_fail(l, "$.retention", "expected an object like {\"events\": \"7d\", \"journal\": \"180d\"}");
	if (o)
		rc = spec_check_keys(l, o, "$.retention", keys);
	if (!rc)
		rc = get_duration(l, o, "$.retention", "events", 3600, true, 7 * 86400L, &r->events_s);
	if (!rc)
		rc = get_duration(l, o, "$.retention", "journal", 86400, true, 180 * 86400L, &r->journal_s);
	return rc;
}

static bool code_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 64 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* A key of "fields" that is not the vendor's: say whose it is. */
static int field_unknown(struct spec_ld *l, const char *path, const struct spec_vendor *v,
			 const char *k)
{
	const struct spec_vendor *const *t;
	unsigned i;

	for (t = l->vendors; *t; t++)
		for (i = 0; i < (*t)->nfields; i++)
			if (!strcmp((*t)->fields[i].key, k))
				return spec_fail(l, path, "\"%s\" is a field of vendor %s, not of %s", k,
						 (*t)->name, v->name);
	return spec_fail(l, path, "unknown key \"%s\" (vendor %s has its own fields: see specs/README.md)",
			 k, v->name);
}

/* The site's custom-field codes, as its vendor's fields: renamed by
 * "fields", else the defaults. */
static int load_fields(struct spec_ld *l, json_t *o, const char *path, struct spec_site *s)
{
	const struct spec_vendor *v = s->vendor;
	const char *k;
	json_t *x;
	unsigned i;
	int rc = RC_OK;

	s->fields = rc_calloc(v->nfields + 1, sizeof(char *));
	if (o && !json_is_object(o))
		return spec_fail(l, path, "expected an object");
	json_object_foreach(o, k, x) {
		for (i = 0; i < v->nfields && strcmp(v->fields[i].key, k); i++)
			;
		if (i == v->nfields)
			return field_unknown(l, path, v, k);
	}
	for (i = 0; !rc && i < v->nfields; i++) {
		rc = spec_get_str(l, o, path, v->fields[i].key, false, &s->fields[i]);
		if (!rc && s->fields[i] && !code_ok(s->fields[i])) {
			char *p = sub(path, v->fields[i].key);

			rc = spec_fail(l, p, "custom-field codes are letters, digits and _ (at most 64)");
			free(p);
		}
		if (!rc && !s->fields[i])
			s->fields[i] = rc_strdup(v->fields[i].dflt);
	}
	return rc;
}

static int find_vendor(struct spec_ld *l, const char *path, const char *name,
		       const struct spec_vendor **out)
{
	const struct spec_vendor *const *t;
	struct rc_buf names;
	int rc;

	for (t = l->vendors; *t; t++) {
		if (!strcmp((*t)->name, name)) {
			*out = *t;
			return RC_OK;
		}
	}
	rc_buf_init(&names);
	for (t = l->vendors; *t; t++)
		rc_buf_printf(&names, "%s\"%s\"", t == l->vendors ? "" : t[1] ? ", " : " or ",
			      (*t)->name);
	rc = spec_fail(l, path, "vendor: must be %s", names.p ? names.p : "a known vendor");
	rc_buf_free(&names);
	return rc;
}

static int load_site_basics(struct spec_ld *l, json_t *o, const char *path, struct spec_site *s)
{
	json_t *v;
	char *vendor = NULL;
	long n = 0;
	int rc;

	rc = spec_get_str(l, o, path, "name", true, &s->name);
	if (!rc && (strlen(s->name) > 64 ||
		    strspn(s->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") !=
			    strlen(s->name)))
		rc = spec_fail(l, path, "name: letters, digits, '_', '.', '-' only (at most 64)");
	if (!rc)
		rc = spec_get_str(l, o, path, "pms_site_id", true, &s->pms_site_id);
	if (!rc)
		rc = spec_get_str(l, o, path, "vendor", true, &vendor);
	if (!rc)
		rc = find_vendor(l, path, vendor, &s->vendor);
	free(vendor);
	s->max_destructive = 0.10;
	v = json_object_get(o, "max_destructive");
	if (!rc && v) {
		if (!json_is_number(v) || json_number_value(v) <= 0 || json_number_value(v) > 1)
			rc = spec_fail(l, path, "max_destructive: expected a number in (0, 1], e.g. 0.10");
		else
			s->max_destructive = json_number_value(v);
	}
	if (!rc)
		rc = spec_get_int(l, o, path, "max_destructive_min", 0, 1000000, 3, &n);
	s->max_destructive_min = (unsigned)n;
	if (!rc)
		rc = spec_get_int(l, o, path, "code_length", 4, 10, 6, &n);
	s->code_length = (unsigned)n;
	if (!rc)
		rc = get_duration(l, o, path, "sync_interval", 10, false, 900, &n);
	s->sync_interval_s = rc ? 900 : (unsigned)n;
	return rc;
}

/* The keys a site may have: its own, and one settings object per vendor
 * (only its vendor's may be present). */
static int check_site_keys(struct spec_ld *l, json_t *o, const char *path)
{
	static const char *const own[] = { "name", "pms_site_id", "vendor", "max_destructive",
		"max_destructive_min", "code_length", "sync_interval", "fields" };
	const size_t nown = sizeof(own) / sizeof(own[0]);
	const struct spec_vendor *const *t;
	const char **keys;
	size_t n = 0, i;
	int rc;

	for (t = l->vendors; *t; t++)
		n++;
	keys = rc_calloc(nown + n + 1, sizeof(*keys));
	for (i = 0; i < nown; i++)
		keys[i] = own[i];
	for (i = 0; i < n; i++)
		keys[nown + i] = l->vendors[i]->name;
	rc = spec_check_keys(l, o, path, keys);
	free(keys);
	return rc;
}

static int load_site(struct spec_ld *l, json_t *o, size_t idx, struct spec_site *s)
{
	const struct spec_vendor *const *t;
	char *path = rc_sprintf("$.sites[%zu]", idx), *sp = NULL;
	json_t *conf;
	int rc;

	rc = check_site_keys(l, o, path);
	if (!rc)
		rc = load_site_basics(l, o, path, s);
	for (t = l->vendors; !rc && *t; t++)
		if (*t != s->vendor && json_object_get(o, (*t)->name))
			rc = spec_fail(l, path, "\"%s\" settings given but vendor is \"%s\"",
				       (*t)->name, s->vendor->name);
	if (!rc) {
		sp = sub(path, "fields");
		rc = load_fields(l, json_object_get(o, "fields"), sp, s);
		free(sp);
	}
	conf = rc ? NULL : json_object_get(o, s->vendor->name);
	if (!rc && !json_is_object(conf))
		rc = spec_fail(l, path, "vendor %s needs a \"%s\" object with its settings",
			       s->vendor->name, s->vendor->name);
	if (!rc) {
		sp = sub(path, s->vendor->name);
		rc = s->vendor->conf_load(l, conf, sp, &s->conf);
		free(sp);
	}
	free(path);
	return rc;
}

static int load_root(struct spec_ld *l, json_t *root, struct spec *s)
{
	static const char *const keys[] = { "version", "state_dir", "pms", "serve", "http",
					    "retention", "sites", "cluster", NULL };
	json_t *sites = json_object_get(root, "sites"), *v;
	char *sd = NULL;
	size_t i, j;
	long ver = 1;
	int rc;

	rc = spec_check_keys(l, root, "$", keys);
	if (!rc && !json_object_get(root, "version"))
		rc = spec_fail(l, "$.version", "required (1)");
	if (!rc)
		rc = spec_get_int(l, root, "$", "version", 1, 1, 1, &ver);
	s->version = (int)ver;
	if (!rc)
		rc = spec_get_str(l, root, "$", "state_dir", false, &sd);
	if (!rc) {
		s->state_dir = resolve_path(l, sd ? sd : ".reconcile-state");
		free(sd);
	}
	if (!rc)
		rc = load_pms(l, json_object_get(root, "pms"), &s->pms);
	if (!rc)
		rc = spec_load_serve(l, json_object_get(root, "serve"), s->pms.type, &s->serve);
	if (!rc)
		rc = spec_load_http(l, json_object_get(root, "http"), s->pms.type, s);
	if (!rc)
		rc = load_retention(l, json_object_get(root, "retention"), &s->retention);
	if (!rc)
		rc = spec_cluster_load(l, json_object_get(root, "cluster"), &s->cluster);
	if (!rc && (!json_is_array(sites) || !json_array_size(sites)))
		rc = spec_fail(l, "$.sites", "expected a non-empty array of sites");
	if (rc)
		return rc;
	s->sites = rc_calloc(json_array_size(sites) + 1, sizeof(*s->sites));
	json_array_foreach(sites, i, v) {
		s->nsites++;
		rc = load_site(l, v, i, &s->sites[i]);
		for (j = 0; !rc && j < i; j++) {
			if (!strcmp(s->sites[j].name, s->sites[i].name))
				rc = spec_fail(l, "$.sites", "site name \"%s\" is used twice", s->sites[i].name);
			else if (!strcmp(s->sites[j].pms_site_id, s->sites[i].pms_site_id))
				rc = spec_fail(l, "$.sites", "pms_site_id %s is used by two sites",
					  s->sites[i].pms_site_id);
		}
		if (rc)
			return rc;
		for (j = 0; l->vendors[j] != s->sites[i].vendor; j++)
			;
		s->sites[i].http = &s->vendor_http[j];
	}
	return RC_OK;
}

int spec_load_buf(const char *buf, size_t len, const char *name,
		  const struct spec_vendor *const *vendors, struct spec **out,
		  struct rc_err *err)
{
	struct spec *s = rc_calloc(1, sizeof(*s));
	char *copy = rc_strdup(name), *dir;
	struct spec_ld l = { name, NULL, err, vendors };
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

int spec_load(const char *path, const struct spec_vendor *const *vendors,
	      struct spec **out, struct rc_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = rc_read_file_max(path, "a spec", RC_CAP_SPEC, &buf, &len, err);
	if (rc)
		return rc;
	rc = spec_load_buf(buf, len, path, vendors, out, err);
	free(buf);
	return rc;
}

void spec_strs_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void site_free(struct spec_site *x)
{
	unsigned i;

	free(x->name);
	free(x->pms_site_id);
	for (i = 0; x->fields && x->vendor && i < x->vendor->nfields; i++)
		free(x->fields[i]);
	free(x->fields);
	if (x->conf && x->vendor)
		x->vendor->conf_free(x->conf);
}

void spec_free(struct spec *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nsites; i++)
		site_free(&s->sites[i]);
	free(s->sites);
	free(s->pms.type);
	free(s->pms.base_url);
	spec_secret_free(&s->pms.api_key);
	spec_secret_free(&s->pms.webhook_secret);
	free(s->serve.listen);
	for (i = 0; i < s->serve.nrates; i++)
		free(s->serve.rates[i].peer);
	free(s->serve.rates);
	free(s->vendor_http);
	spec_cluster_free(s->cluster);
	free(s->state_dir);
	free(s->path);
	free(s->dir);
	free(s);
}

struct prefixed {
	spec_secret_cb fn;
	void *payload;
	const char *site;
};

static void prefixed_cb(const struct spec_secret *sec, const char *what, void *payload)
{
	struct prefixed *p = payload;
	char *w = rc_sprintf("site %s: %s", p->site, what);

	p->fn(sec, w, p->payload);
	free(w);
}

void spec_secrets_each(const struct spec *s, spec_secret_cb fn, void *payload)
{
	struct prefixed p = { fn, payload, NULL };
	size_t i;

	fn(&s->pms.api_key, "pms.api_key", payload);
	fn(&s->pms.webhook_secret, "pms.webhook_secret", payload);
	spec_cluster_secrets(s->cluster, fn, payload);
	for (i = 0; i < s->nsites; i++) {
		p.site = s->sites[i].name;
		s->sites[i].vendor->conf_secrets(s->sites[i].conf, prefixed_cb, &p);
	}
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
