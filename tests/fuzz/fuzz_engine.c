/*
 * fuzz_engine.c: the engine with every HTTP answer taken from the input:
 * a plan of the three sites of tests/fuzz/engine_spec.json (one per
 * vendor) reading the PMS and each vendor, then an apply of that plan, on
 * a fresh state directory. Every request the PMS client and the providers
 * make is answered by the next part of the input (http_fuzz_set), so the
 * page parsers, each vendor's answer parsers, the rules, apply and the
 * journal all see hostile answers.
 *
 * Input: answers separated by "\n~~\n"; an answer that starts with three
 * digits and a space has that status, else 200; past the last answer,
 * every request fails as a dropped connection.
 *
 * FUZZ_RECORD=FILE FUZZ_SIM=http://127.0.0.1:PORT fuzz_engine: one pass
 * against a running simulator instead, its answers written to FILE in
 * that form (a seed: tests/fuzz/README.md).
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "providers/http.h"
#include "reconciler/engine.h"
#include "reconciler/plan.h"

#define SEP "\n~~\n"

static struct spec *g_spec;
static const char *g_dir;
static const uint8_t *g_in, *g_end;
static FILE *g_rec;

static int answer(const struct http_req *req, struct http_resp *resp)
{
	const uint8_t *next;
	size_t n;

	(void)req;
	if (!g_in || g_in >= g_end)
		return -1;
	next = memmem(g_in, (size_t)(g_end - g_in), SEP, strlen(SEP));
	n = (size_t)((next ? next : g_end) - g_in);
	resp->status = 200;
	if (n >= 4 && g_in[0] >= '1' && g_in[0] <= '5' && g_in[1] >= '0' && g_in[1] <= '9' &&
	    g_in[2] >= '0' && g_in[2] <= '9' && g_in[3] == ' ') {
		resp->status = (g_in[0] - '0') * 100 + (g_in[1] - '0') * 10 + (g_in[2] - '0');
		g_in += 4;
		n -= 4;
	}
	rc_buf_free(&resp->body);
	rc_buf_add(&resp->body, (const char *)g_in, n);
	g_in = next ? next + strlen(SEP) : g_end;
	return 0;
}

static void seen(const struct http_req *req, const struct http_resp *resp)
{
	static bool first = true;

	(void)req;
	if (!resp)
		return; /* no answer: the replay's end of input says the same */
	fprintf(g_rec, "%s%03ld %.*s", first ? "" : SEP, resp->status, (int)resp->body.len,
		resp->body.p ? resp->body.p : "");
	first = false;
}

/* Plan and apply every site once, on an empty state directory. */
static void one_pass(void)
{
	struct engine_opts eo = { .refresh = true };
	struct apply_opts ao = { .allow_destructive = true };
	struct apply_result res;
	struct plan p = { 0 };
	struct engine e;
	struct rc_err err;

	fuzz_empty_dir(g_dir);
	if (engine_open(&e, g_spec, NULL, NULL, &err) == RC_OK &&
	    engine_plan(&e, &eo, &p, &err) == RC_OK)
		engine_apply(&e, &p, &ao, &res, &err);
	plan_free(&p);
	engine_close(&e);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *rec = getenv("FUZZ_RECORD");

	(void)argc;
	(void)argv;
	g_dir = fuzz_tmpdir();
	g_spec = fuzz_spec("tests/fuzz/engine_spec.json", g_dir);
	if (rec && *rec) {
		g_rec = fopen(rec, "w");
		if (!g_rec) {
			perror(rec);
			exit(1);
		}
		http_fuzz_set(NULL, seen);
		one_pass();
		fclose(g_rec);
		exit(0);
	}
	http_fuzz_set(answer, NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_in = data;
	g_end = data + size;
	one_pass();
	return 0;
}
