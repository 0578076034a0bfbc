/* fuzz_plan_file.c: a saved plan (`apply PLANFILE`) on any bytes, for the
 * sites of tests/fuzz/engine_spec.json. */
#include "fuzz.h"

#include <jansson.h>

#include "core/common.h"
#include "reconciler/plan.h"

static struct spec *g_spec;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g_spec = fuzz_spec("tests/fuzz/engine_spec.json", fuzz_tmpdir());
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, 0, NULL);
	struct plan p = { 0 };
	struct rc_err err;

	if (!j)
		return 0;
	plan_from_json(j, g_spec, &p, &err);
	plan_free(&p);
	json_decref(j);
	return 0;
}
