/*
 * vendors.c: the table of vendors, one row each. It is the one file that
 * lists them; a build may link another table (tests/vendor_null adds a
 * test-only vendor with one more row).
 */
#include "vendor.h"

extern const struct vendor opentech_vendor;
extern const struct vendor pti_vendor;
extern const struct vendor openapp_vendor;

const struct vendor *const vendor_table[] = {
	&opentech_vendor,
	&pti_vendor,
	&openapp_vendor,
	NULL
};
