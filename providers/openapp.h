/*
 * openapp.h: what the OpenApp provider (openapp.c) and its rules
 * (reconciler/diff_openapp.c) share: the site's settings and the custom
 * fields in the order of the descriptor's field table. The observed
 * "unit" of an invite is its rental id (one invite per rental, OA1).
 */
#ifndef RC_OPENAPP_H
#define RC_OPENAPP_H

#include "specs/spec.h"

enum oa_field {
	OA_F_PORTAL_IDS = 0,      /* unit: its doors' portal ids (R1, OA1) */
	OA_F_INVITE_URL,          /* rental: the one-time guest link (OA4) */
	OA_NFIELDS
};

/* A site's "openapp" settings. */
struct openapp_conf {
	char *base_url;              /* e.g. https://api.openapp.house/api/v1 */
	struct spec_secret api_key;
	char *org_id;
	char *integration_id;
	char **lobby_portal_ids;     /* opened by every invite of the site */
	size_t nlobby_portal_ids;
	long max_uses;               /* -1 = unlimited */
	long validity_days;          /* 0 = open-ended when no move-out date */
	bool delete_on_vacate;       /* DELETE instead of revoke (OA3) */
};

#endif
