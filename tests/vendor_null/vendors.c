/*
 * vendors.c (test build): the table of providers/vendors.c with one more
 * row, the test-only "null" vendor. Linked instead of the real table by
 * reconcile-null, the binary tests/vendor_null/e2e_null.c runs.
 */
#include "providers/vendor.h"

extern const struct vendor opentech_vendor;
extern const struct vendor pti_vendor;
extern const struct vendor openapp_vendor;
extern const struct vendor null_vendor;

const struct vendor *const vendor_table[] = {
	&opentech_vendor,
	&pti_vendor,
	&openapp_vendor,
	&null_vendor,
	NULL
};
