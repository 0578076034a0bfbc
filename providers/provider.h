/*
 * provider.h: the vendor provider interface (architecture decision 1).
 *
 * A provider is a small vtable: refresh a site (vendor -> struct obs_site),
 * apply one operation, and capabilities. It knows nothing of plans, the
 * journal or LMDB. A vendor is added by writing one provider file (and its
 * simulator) and one row in provider_for().
 */
#ifndef RC_PROVIDER_H
#define RC_PROVIDER_H

#include "../reconciler/model.h"
#include "../reconciler/op.h"
#include "../specs/spec.h"

enum provider_caps {
	PROV_CAN_READ = 1u << 0,       /* refresh reads real vendor state */
	PROV_RETURNS_CODES = 1u << 1   /* refresh sees codes (to hash them) */
};

struct provider;

/* Resolves a code_ref to the clear code at apply time (borrowed result). */
typedef const char *(*provider_code_fn)(const struct code_ref *ref,
					void *payload);

struct provider_ops {
	const char *name;              /* "opentech" */
	unsigned caps;
	/* Open a session for one site: read credentials, no network yet.
	 * site_cf_lookup gives site custom fields for PTI credentials. */
	int (*open)(struct provider **out, const struct spec_site *site,
		    const struct pms_site *pms_site, struct rc_err *err);
	/* Read the vendor's state of the site into out (obs_site_init'ed).
	 * Codes are hashed through hash_fn and never kept. */
	int (*refresh)(struct provider *p, struct obs_site *out,
		       void (*hash_fn)(const char *code,
				       unsigned char out[RC_HASH_LEN],
				       void *payload),
		       void *hash_payload, struct rc_err *err);
	/* Perform one vendor operation. */
	int (*apply)(struct provider *p, const struct op *op,
		     provider_code_fn code_fn, void *code_payload,
		     struct op_result *res, struct rc_err *err);
	void (*close)(struct provider *p);
};

/* The provider of a vendor (borrowed static table entry), NULL if none. */
const struct provider_ops *provider_for(int vendor_kind);

#endif
