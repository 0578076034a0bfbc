/*
 * opentech.h: what the OpenTech provider (opentech.c) and its rules
 * (reconciler/diff_opentech.c) share: the site's settings and the custom
 * fields, in the order of the descriptor's field table.
 */
#ifndef RC_OPENTECH_H
#define RC_OPENTECH_H

#include "specs/spec.h"

enum ot_field {
	OT_F_UNIT_ID = 0,         /* unit: the OpenTech unit it maps to (R1, R2) */
	OT_F_ACCESS_PROFILE,      /* unit: access-profile override (OT2) */
	OT_F_TIME_GROUP,          /* unit: time-group override (OT2) */
	OT_F_ACCESS_CODE,         /* rental: the code of record (OT4) */
	OT_F_OVERLOCKED,          /* rental: overlock flag (R4) */
	OT_F_RESYNC,              /* rental: manual re-sync toggle (OT5) */
	OT_NFIELDS
};

/* A site's "opentech" settings (OT6). */
struct opentech_conf {
	char *environment;           /* "production" | "testing" (or NULL) */
	char *base_url;              /* replaces both hosts (simulator) */
	char *property_number;       /* resolved to the facility id */
	struct spec_secret api_key;       /* operator */
	struct spec_secret api_secret;
	struct spec_secret client_id;     /* integrator */
	struct spec_secret client_secret;
	long access_profile_id;      /* site default (OT2); -1 = vendor default */
	long time_group_id;          /* site default (OT2); -1 = vendor default */
};

#endif
