/* fuzz_spec.c: the spec loader on any bytes (tests/fuzz/README.md). */
#include "fuzz.h"

#include "core/common.h"
#include "providers/vendor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spec *spec = NULL;
	struct rc_err err;

	fuzz_env();
	if (!spec_load_buf((const char *)data, size, "fuzz.json", vendor_specs(), &spec, &err))
		spec_free(spec);
	return 0;
}
