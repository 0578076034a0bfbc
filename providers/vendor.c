/* vendor.c: lookups over vendor_table. See vendor.h. */
#include "vendor.h"

#define VENDOR_MAX 32

const struct vendor *vendor_of(const struct spec_site *site)
{
	/* the spec loader's part is the descriptor's first member */
	return (const struct vendor *)site->vendor;
}

size_t vendor_count(void)
{
	size_t n = 0;

	while (vendor_table[n])
		n++;
	return n;
}

const struct spec_vendor *const *vendor_specs(void)
{
	static const struct spec_vendor *specs[VENDOR_MAX + 1];
	size_t i;

	for (i = 0; i < VENDOR_MAX && vendor_table[i]; i++)
		specs[i] = &vendor_table[i]->spec;
	specs[i] = NULL;
	return specs;
}

size_t vendor_index(const struct vendor *v)
{
	size_t i;

	for (i = 0; vendor_table[i]; i++)
		if (vendor_table[i] == v)
			return i;
	return i;
}

const char *vendor_field(const struct spec_site *site, int i)
{
	return i >= 0 && (unsigned)i < site->vendor->nfields ? site->fields[i] : NULL;
}
