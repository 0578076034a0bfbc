/*
 * spec.h: the declarative configuration ("spec") of reconcile.
 *
 * A spec is one JSON file (schema: specs/reconcile.schema.json). It names
 * the PMS, where state lives, and per site: the PMS site id, the vendor and
 * its settings, credentials *by reference only* (environment variable or
 * file), defaults, custom-field codes and safety limits.
 *
 * The loader rejects unknown keys, wrong types, inline secrets and
 * out-of-range values; every error names the file, the JSON path
 * ("$.sites[1].<vendor>.api_key_env") and the problem. It knows no vendor:
 * it is given a table of them (struct spec_vendor), and each reads its
 * own settings object with the helpers at the end of this file.
 */
#ifndef RC_SPEC_H
#define RC_SPEC_H

#include <jansson.h>

#include "core/common.h"
#include "core/model.h"

/* A secret reference: exactly one of env / file / credential / site_field
 * is set. */
struct spec_secret {
	char *env;        /* name of an environment variable */
	char *file;       /* path of a file (first line, trailing newline cut) */
	char *site_field; /* code of a PMS *site* custom field (where the vendor allows it) */
	char *credential; /* systemd credential: $CREDENTIALS_DIRECTORY/<name>, read like file */
};

/* Resolve a secret reference. *out is new (free with rc_free_secret).
 * site_cf_value is the value of the site custom field when the reference is
 * a site_field (may be NULL). The error names what is missing, never the
 * value. */
int spec_secret_read(const struct spec_secret *s, const char *what,
		     const char *site_cf_value, char **out, struct rc_err *err);
bool spec_secret_set(const struct spec_secret *s);

/* One custom field a vendor reads or writes: the key under a site's
 * "fields" that renames it, its default code (docs/rules.md), and the PMS
 * object it lives on. */
struct spec_field_def {
	const char *key;             /* the key under "fields" */
	const char *dflt;            /* its default code */
	enum pms_obj obj;
};

/* One peer's HTTP settings (providers/http.h: http_opts): timeouts,
 * retries and, for a vendor whose API pages its lists, the page size. Zero
 * is "not set" while the loader resolves them (spec_http.c: a peer's own
 * keys, over the "http" section's, over the vendor's defaults, over the
 * built-in ones); resolved, only page_size may be 0 (no paging). */
struct spec_http {
	unsigned timeout_ms;         /* one attempt, default 15000 */
	unsigned attempts;           /* a call with side effects, default 4 */
	unsigned read_attempts;      /* a GET, default 8 */
	unsigned backoff_ms;         /* first backoff, default 500 (x2, at most 8 s) */
	unsigned max_elapsed_s;      /* no retry starts after, default 60 */
	unsigned page_size;          /* items per list page (a vendor that pages), else 0 */
};

/* A spec being loaded: its file, directory and error (spec.c). */
struct spec_ld;

/* Called with each credential reference of a vendor's settings. */
typedef void (*spec_secret_cb)(const struct spec_secret *s, const char *what, void *payload);

/*
 * What the loader needs to know of a vendor: the first member of the
 * vendor's descriptor (providers/vendor.h), so that the spec layer stays
 * below the providers. The loader is given the table of them.
 */
struct spec_vendor {
	const char *name;            /* the site's "vendor" value and the key of its settings */
	const char *title;           /* the vendor's name, for people */
	const struct spec_field_def *fields;
	unsigned nfields;
	/* Read the vendor's settings object o (borrowed) found at JSON path
	 * path into *conf (new, freed with conf_free). Errors through the
	 * spec_get_* helpers below. */
	int (*conf_load)(struct spec_ld *l, json_t *o, const char *path, void **conf);
	void (*conf_free)(void *conf);
	/* Call fn for every credential of conf, with what it is for. */
	void (*conf_secrets)(const void *conf, spec_secret_cb fn, void *payload);
	/* The vendor's HTTP defaults where its API needs others than every
	 * peer's (zero members: those), e.g. a longer timeout for lists that
	 * come whole in one answer; http.page_size is the default page of a
	 * vendor whose API pages its lists (0: it does not, and the spec has
	 * no page_size for it), from 1 to page_max (the API's limit). */
	struct spec_http http;
	unsigned page_max;
};

struct spec_site {
	char *name;                  /* address label, unique: [A-Za-z0-9_.-]+ */
	char *pms_site_id;
	const struct spec_vendor *vendor; /* borrowed from the loader's table */
	void *conf;                  /* the vendor's settings (owned: vendor->conf_free) */
	char **fields;               /* custom-field codes, indexed as vendor->fields */
	double max_destructive;      /* share of managed units, default 0.10 */
	unsigned max_destructive_min;/* at least this many units, default 3 */
	unsigned code_length;        /* generated codes, default 6 (4..10) */
	unsigned sync_interval_s;    /* serve: full reconcile period, default 900 */
	const struct spec_http *http;/* its vendor's HTTP settings (borrowed from the spec) */
};

struct spec_pms {
	char *type;                  /* "storeganise" */
	char *base_url;              /* https://{business}.storeganise.com/api */
	struct spec_secret api_key;
	struct spec_secret webhook_secret;
	unsigned page_size;          /* default 1000 */
};

/* A peer's request rate limit: a vendor's name, or the PMS type. */
struct spec_rate {
	char *peer;
	double rps;
};

struct spec_serve {
	char *listen;                /* "127.0.0.1:8080" */
	unsigned max_body;           /* webhook body limit, bytes */
	unsigned vendor_concurrency; /* HTTP requests in flight per vendor, default 4 */
	unsigned workers;            /* sites reconciled at once (whole-site runs), default 8 */
	unsigned rental_workers;     /* one-rental runs (and a job's, unit's or customer's
				      * lookup) at once, default 64 */
	unsigned per_address;        /* HTTP connections per client address, default 64 */
	struct spec_rate *rates;     /* requests_per_second by peer (none: unlimited) */
	size_t nrates;
};

/* How long the state keeps what only history needs (0: forever). */
struct spec_retention {
	long events_s;               /* webhook event ids (duplicate check), default 7 d */
	long journal_s;              /* closed journal entries, default 180 d */
};

struct spec_cluster; /* spec_cluster.h */

struct spec {
	char *path;                  /* file it was loaded from */
	char *dir;                   /* its directory (relative paths resolve here) */
	int version;                 /* 1 */
	char *state_dir;             /* resolved against dir */
	struct spec_pms pms;
	struct spec_serve serve;
	struct spec_http http;       /* the "http" section over the built-in defaults */
	struct spec_http pms_http;   /* the PMS's: "http.<pms type>" over "http" */
	struct spec_http *vendor_http; /* each vendor's of the table (same index):
					* "http.<vendor>" over "http" over its defaults */
	struct spec_retention retention;
	struct spec_site *sites;
	size_t nsites;
	struct spec_cluster *cluster; /* NULL: one process (no "cluster" section) */
};

/* The site's code of its vendor's custom field i (borrowed). */
static inline const char *spec_field(const struct spec_site *s, unsigned i)
{
	return s->fields[i];
}

/* Load and validate against vendors (a NULL-terminated table, borrowed:
 * it must outlive the spec). *out is new (spec_free). */
int spec_load(const char *path, const struct spec_vendor *const *vendors,
	      struct spec **out, struct rc_err *err);
int spec_load_buf(const char *buf, size_t len, const char *name,
		  const struct spec_vendor *const *vendors, struct spec **out,
		  struct rc_err *err);
void spec_free(struct spec *s);
/* Borrowed; NULL when absent. */
const struct spec_site *spec_find_site(const struct spec *s, const char *name);
const struct spec_site *spec_find_site_by_pms_id(const struct spec *s,
						  const char *pms_site_id);

/* Call fn for every credential of the spec: the PMS's, then each site's
 * (what is prefixed with the site's name). */
void spec_secrets_each(const struct spec *s, spec_secret_cb fn, void *payload);

/* ---- for vendors' settings loaders (conf_load) ----
 * Each returns RC_OK or RC_EINVAL with "<file>: <path>.<key>: <problem>". */
int spec_fail(struct spec_ld *l, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Every key of o must be in allowed[] (NULL-terminated); a key that looks
 * like an inline secret gets a message saying how to reference it. */
int spec_check_keys(struct spec_ld *l, json_t *o, const char *path,
		    const char *const *allowed);
/* A non-empty string (*out new, NULL when absent and not required). */
int spec_get_str(struct spec_ld *l, json_t *o, const char *path, const char *k,
		 bool required, char **out);
/* An http:// or https:// URL without trailing slashes (*out new). */
int spec_get_url(struct spec_ld *l, json_t *o, const char *path, const char *k,
		 bool required, char **out);
int spec_get_int(struct spec_ld *l, json_t *o, const char *path, const char *k,
		 long min, long max, long dflt, long *out);
int spec_get_bool(struct spec_ld *l, json_t *o, const char *path, const char *k,
		  bool dflt, bool *out);
/* An array of non-empty strings (*out new, NULL-terminated; *n its size). */
int spec_get_strs(struct spec_ld *l, json_t *o, const char *path, const char *k,
		  char ***out, size_t *n);
/* A credential reference: exactly one of <base>_env, <base>_file and, when
 * site_field, <base>_site_field (a PMS site custom field). Relative files
 * resolve against the spec's directory. */
int spec_get_secret(struct spec_ld *l, json_t *o, const char *path, const char *base,
		    bool site_field, bool required, struct spec_secret *out);
void spec_secret_free(struct spec_secret *s);
void spec_strs_free(char **v, size_t n);

#endif
