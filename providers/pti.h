/*
 * pti.h: what the PTI StorLogix provider (pti.c) and its rules
 * (reconciler/diff_pti.c) share: the site's settings, the custom fields
 * in the order of the descriptor's field table, and how a customer's PTI
 * user is named in the observed state.
 */
#ifndef RC_PTI_H
#define RC_PTI_H

#include "specs/spec.h"

enum pti_field {
	PTI_F_UNIT_NAME = 0,      /* unit: the PTI unit name (R1, R2) */
	PTI_F_ACCESS_CODE,        /* user: the customer's code (PT2) */
	PTI_F_USER_ID,            /* user: the StorLogix user id (PT1) */
	PTI_F_ZONE,               /* user: time-zone override (PT3) */
	PTI_F_ACCESS_LEVEL,       /* user: access-level override (PT3) */
	PTI_F_REGENERATE,         /* user: new-code request (PT6) */
	PTI_F_SYNCED,             /* rental: last push time (PT7) */
	PTI_F_OVERLOCKED,         /* rental: suspend flag (R4) */
	PTI_NFIELDS
};

/* The observed state holds a record per PTI unit name and one per
 * customer's user, named PTI_USER_PREFIX + the PMS user id. A user record
 * whose status is PTI_USER_GONE keeps the StorLogix id PTI said it does
 * not know (-404, issue 10.4): the next plan adds the user again. */
#define PTI_USER_PREFIX '@'
#define PTI_USER_GONE VU_VACANT

/* A site's "pti" settings. */
struct pti_conf {
	char *base_url;
	struct spec_secret client_id;     /* integrator (partner) */
	struct spec_secret api_key;
	struct spec_secret site_key;      /* per site; may be a site field */
	struct spec_secret site_code;
	struct spec_secret username;
	struct spec_secret password;
	long access_level;           /* site default (PT3); -1 none */
	long zone;                   /* site default time zone (PT3); -1 none */
};

#endif
