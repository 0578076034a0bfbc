/* fuzz_common.c: see fuzz.h. */
#define _GNU_SOURCE
#include "fuzz.h"

#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/common.h"
#include "providers/vendor.h"

static char g_dir[PATH_MAX];

void fuzz_env(void)
{
	/* specs/examples name the first ones; engine_spec.json the E2E_ ones,
	 * with the simulator's demo values (a recording run signs in) */
	static const char *const vars[][2] = {
		{ "SG_API_KEY", "k" }, { "SG_WEBHOOK_SECRET", "k" }, { "OT_API_KEY", "k" },
		{ "OT_API_SECRET", "k" }, { "OT_CLIENT_ID", "k" }, { "OT_CLIENT_SECRET", "k" },
		{ "PTI_CLIENT_ID", "k" }, { "PTI_API_KEY", "k" }, { "OPENAPP_API_KEY", "k" },
		{ "E2E_SG_API_KEY", "demo-storeganise-key" }, { "E2E_OT_API_KEY", "demo-opentech-key" },
		{ "E2E_OT_API_SECRET", "demo-opentech-secret" }, { "E2E_OT_CLIENT_ID", "demo-integrator" },
		{ "E2E_OT_CLIENT_SECRET", "demo-integrator-secret" },
		{ "E2E_PTI_CLIENT_ID", "demo-pti-partner" }, { "E2E_PTI_API_KEY", "demo-pti-partner-key" },
		{ "E2E_OA_API_KEY", "demo-openapp-key" },
	};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		setenv(vars[i][0], vars[i][1], 0);
}

void fuzz_empty_dir(const char *dir)
{
	char p[PATH_MAX];
	struct dirent *d;
	DIR *h = opendir(dir);

	while (h && (d = readdir(h)) != NULL) {
		if (d->d_name[0] == '.' && (!d->d_name[1] || (d->d_name[1] == '.' && !d->d_name[2])))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, d->d_name);
		unlink(p);
	}
	if (h)
		closedir(h);
}

static void cleanup(void)
{
	if (g_dir[0]) {
		fuzz_empty_dir(g_dir);
		rmdir(g_dir);
	}
}

const char *fuzz_tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	if (g_dir[0])
		return g_dir;
	snprintf(g_dir, sizeof(g_dir), "%s/reconcile-fuzz-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(g_dir)) {
		perror(g_dir);
		exit(1);
	}
	atexit(cleanup);
	return g_dir;
}

struct spec *fuzz_spec(const char *rel_path, const char *state_dir)
{
	const char *src = getenv("RECONCILE_SOURCE_DIR");
	const char *sim = getenv("FUZZ_SIM"), *at, *p;
	char path[PATH_MAX], *text = NULL;
	struct spec *spec = NULL;
	struct rc_buf b;
	struct rc_err err;
	json_error_t je;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", src && *src ? src : RECONCILE_SOURCE_DIR, rel_path);
	if (rc_read_file(path, &text, NULL, &err)) {
		fprintf(stderr, "fuzz: %s\n", err.msg);
		exit(1);
	}
	rc_buf_init(&b); /* "@SIM@": where a recording run finds the simulator */
	for (p = text; (at = strstr(p, "@SIM@")) != NULL; p = at + 5) {
		rc_buf_add(&b, p, (size_t)(at - p));
		rc_buf_puts(&b, sim && *sim ? sim : "http://127.0.0.1:9");
	}
	rc_buf_puts(&b, p);
	free(text);
	j = json_loadb(b.p, b.len, 0, &je);
	rc_buf_free(&b);
	if (!j) {
		fprintf(stderr, "fuzz: %s: %s\n", path, je.text);
		exit(1);
	}
	json_object_set_new(j, "state_dir", json_string(state_dir));
	json_object_set_new(j, "http", json_pack("{s:i, s:i, s:i, s:i}", "attempts", 1,
						 "read_attempts", 1, "backoff_ms", 1, "timeout_ms", 1000));
	text = json_dumps(j, 0);
	json_decref(j);
	fuzz_env();
	if (spec_load_buf(text, strlen(text), path, vendor_specs(), &spec, &err)) {
		fprintf(stderr, "fuzz: %s: %s\n", path, err.msg);
		exit(1);
	}
	free(text);
	return spec;
}
