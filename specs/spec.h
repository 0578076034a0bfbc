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
 * ("$.sites[1].opentech.api_key_env") and the problem.
 */
#ifndef RC_SPEC_H
#define RC_SPEC_H

#include "../reconciler/common.h"

enum vendor_kind {
	VENDOR_NONE = 0,
	VENDOR_OPENTECH,
	VENDOR_PTI,
	VENDOR_OPENAPP
};
const char *vendor_kind_name(enum vendor_kind v); /* "opentech", ... */

/* A secret reference: exactly one of env / file / site_field is set. */
struct spec_secret {
	char *env;        /* name of an environment variable */
	char *file;       /* path of a file (first line, trailing newline cut) */
	char *site_field; /* PTI only: code of a PMS *site* custom field */
};

/* Resolve a secret reference. *out is new (free with rc_free_secret).
 * site_cf_value is the value of the site custom field when the reference is
 * a site_field (may be NULL). The error names what is missing, never the
 * value. */
int spec_secret_read(const struct spec_secret *s, const char *what,
		     const char *site_cf_value, char **out, struct rc_err *err);
bool spec_secret_set(const struct spec_secret *s);

/* Custom-field codes. Defaults are those of access-rules.md. */
struct spec_fields {
	/* OpenTech */
	char *ot_unit_id;            /* unit: opentech_unitId */
	char *ot_access_profile;     /* unit: opentech_accessProfileId */
	char *ot_time_group;         /* unit: opentech_timeGroupId */
	char *ot_access_code;        /* rental: opentech_accessCode */
	char *ot_overlocked;         /* rental: opentech_overlocked */
	char *ot_resync;             /* rental: opentech_resync */
	/* PTI */
	char *pti_unit_name;         /* unit: pti_unitName */
	char *pti_access_code;       /* user: pti_accessCode */
	char *pti_user_id;           /* user: pti_userId */
	char *pti_zone;              /* user: pti_zone */
	char *pti_access_level;      /* user: pti_accessLevel */
	char *pti_regenerate;        /* user: pti_regenerateCode */
	char *pti_synced;            /* rental: pti_synced */
	char *pti_overlocked;        /* rental: pti_overlocked */
	/* OpenApp */
	char *oa_portal_ids;         /* unit: openapp_portalIds */
	char *oa_invite_url;         /* rental: openapp_inviteUrl */
};

struct spec_opentech {
	char *environment;           /* "production" | "testing" (or NULL) */
	char *base_url;              /* overrides environment (simulator) */
	char *property_number;       /* facility's Property Number */
	struct spec_secret api_key;       /* operator */
	struct spec_secret api_secret;
	struct spec_secret client_id;     /* integrator */
	struct spec_secret client_secret;
	long access_profile_id;      /* site default; -1 = vendor default */
	long time_group_id;          /* site default; -1 = vendor default */
};

struct spec_pti {
	char *base_url;
	struct spec_secret client_id;     /* integrator (partner) */
	struct spec_secret api_key;
	struct spec_secret site_key;      /* per site; may be site_field */
	struct spec_secret site_code;
	struct spec_secret username;
	struct spec_secret password;
	long access_level;           /* site default */
	long zone;                   /* site default time zone */
};

struct spec_openapp {
	char *base_url;              /* e.g. https://api.openapp.house/api/v1 */
	struct spec_secret api_key;
	char *org_id;
	char *integration_id;
	char **lobby_portal_ids;
	size_t nlobby_portal_ids;
	long max_uses;               /* -1 = unlimited */
	long validity_days;          /* 0 = open-ended when no move-out date */
	bool delete_on_vacate;       /* DELETE instead of revoke (OA3) */
};

struct spec_site {
	char *name;                  /* address label, unique: [A-Za-z0-9_.-]+ */
	char *pms_site_id;
	enum vendor_kind vendor;
	double max_destructive;      /* share of managed units, default 0.10 */
	unsigned max_destructive_min;/* at least this many units, default 3 */
	unsigned code_length;        /* generated codes, default 6 (4..10) */
	unsigned sync_interval_s;    /* serve: full reconcile period, default 900 */
	struct spec_fields fields;
	struct spec_opentech opentech;
	struct spec_pti pti;
	struct spec_openapp openapp;
};

struct spec_pms {
	char *type;                  /* "storeganise" */
	char *base_url;              /* https://{business}.storeganise.com/api */
	struct spec_secret api_key;
	struct spec_secret webhook_secret;
	unsigned page_size;          /* default 1000 */
};

struct spec_serve {
	char *listen;                /* "127.0.0.1:8080" */
	unsigned max_body;           /* webhook body limit, bytes */
	unsigned vendor_concurrency; /* HTTP requests in flight per vendor, default 4 */
	unsigned workers;            /* sites reconciled at once, default 8 */
};

/* How long the state keeps what only history needs (0: forever). */
struct spec_retention {
	long events_s;               /* webhook event ids (duplicate check), default 7 d */
	long journal_s;              /* closed journal entries, default 180 d */
};

struct spec {
	char *path;                  /* file it was loaded from */
	char *dir;                   /* its directory (relative paths resolve here) */
	int version;                 /* 1 */
	char *state_dir;             /* resolved against dir */
	struct spec_pms pms;
	struct spec_serve serve;
	struct spec_retention retention;
	struct spec_site *sites;
	size_t nsites;
};

/* Load and validate. *out is new (spec_free). */
int spec_load(const char *path, struct spec **out, struct rc_err *err);
int spec_load_buf(const char *buf, size_t len, const char *name,
		  struct spec **out, struct rc_err *err);
void spec_free(struct spec *s);
/* Borrowed; NULL when absent. */
const struct spec_site *spec_find_site(const struct spec *s, const char *name);
const struct spec_site *spec_find_site_by_pms_id(const struct spec *s,
						  const char *pms_site_id);

#endif
