/* fuzz_snapshot.c: a PMS snapshot file on any bytes, read as
 * `plan --pms-snapshot` reads it, for the sites of tests/fuzz/engine_spec.json. */
#define _GNU_SOURCE
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/common.h"
#include "core/model.h"
#include "providers/storeganise.h"

static struct spec *g_spec;
static int g_fd = -1;
static char g_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g_spec = fuzz_spec("tests/fuzz/engine_spec.json", fuzz_tmpdir());
	g_fd = memfd_create("snapshot", 0);
	if (g_fd < 0) {
		perror("memfd_create");
		exit(1);
	}
	snprintf(g_path, sizeof(g_path), "/proc/self/fd/%d", g_fd);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pms_snapshot snap;
	struct rc_err err;

	if (ftruncate(g_fd, 0) || pwrite(g_fd, data, size, 0) != (ssize_t)size)
		abort();
	pms_snapshot_init(&snap);
	sg_load_snapshot_file(g_path, g_spec, &snap, &err);
	pms_snapshot_free(&snap);
	return 0;
}
