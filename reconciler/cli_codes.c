/* cli_codes.c: reconcile codes regenerate (a new code on request, by command). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "engine.h"
#include "providers/vendor.h"

static const char codes_usage[] =
"Usage: reconcile codes regenerate -c SPEC --site NAME --user USER_ID [options]\n"
"\n"
"Gives a customer a new access code at a site whose vendor keeps one code\n"
"per customer (the code lives on the PMS customer, not on a rental): a new\n"
"code is generated, written to the customer's code field, and pushed for\n"
"every unit the customer rents at the site, through the usual plan/apply\n"
"flow (the plan is shown first; the code itself never is). Where the code\n"
"lives on the rental, clear the rental's code field in the PMS instead.\n"
"\n"
"Options:\n"
"  -c, --config SPEC    the spec file (required)\n"
"  -s, --site NAME      the site (required)\n"
"  -u, --user USER_ID   the Storeganise user id of the customer (required)\n"
"      --auto-approve   do not ask for confirmation\n"
"      --no-color      no colour\n"
"  -h, --help           this text\n";

static bool has_regen(const struct plan *p, const char *user)
{
	size_t i, k;

	for (i = 0; i < p->nsites; i++)
		for (k = 0; k < p->sites[i].nops; k++) {
			const struct op *op = &p->sites[i].ops[k];

			if ((op->kind == OP_TENANT_UPDATE || op->kind == OP_TENANT_CREATE) &&
			    rc_streq(op->user_id, user) && (op->changed & TF_CODE))
				return true;
		}
	return false;
}

static int run(const char *specf, const char *site, const char *user, bool yes, bool nocolor)
{
	struct engine_opts eo = { 0 };
	struct apply_opts ao = { 0 };
	struct apply_result res;
	struct render_opts ro = { .color = cli_color(STDOUT_FILENO, nocolor) };
	const struct spec_site *ss;
	struct spec *spec = NULL;
	struct plan p = { 0 };
	struct rc_err err;
	struct engine e;
	int rc = EXIT_ERROR;

	memset(&e, 0, sizeof(e));
	rc_err_clear(&err);
	if (cli_load_spec(specf, &spec, &err))
		return cli_error(err.msg, "run 'reconcile validate -c SPEC' for details");
	ss = spec_find_site(spec, site);
	if (!ss) {
		cli_error("no such site in the spec", "sites are named by their \"name\"");
		goto out;
	}
	if (!vendor_of(ss)->regen_rule) {
		char *msg = rc_sprintf("site %s: %s keeps a code per rental, not per customer",
				       ss->name, vendor_of(ss)->spec.title);
		char *hint = vendor_field(ss, vendor_of(ss)->code_field)
			? rc_sprintf("clear the rental's %s field in the PMS: a new code is generated",
				     vendor_field(ss, vendor_of(ss)->code_field))
			: rc_sprintf("%s sites have no access codes", vendor_of(ss)->spec.title);

		cli_error(msg, hint);
		free(msg);
		free(hint);
		goto out;
	}
	if (engine_open(&e, spec, NULL, cli_log(), &err) || store_lock(e.store, &err)) {
		cli_error(err.msg, NULL);
		goto out;
	}
	eo.refresh = true;
	eo.sites = &site;
	eo.nsites = 1;
	eo.regen_user = user;
	if (engine_plan(&e, &eo, &p, &err)) {
		cli_error(err.msg, NULL);
		goto out;
	}
	if (!has_regen(&p, user)) {
		fprintf(stderr, "reconcile: error: customer %s rents no managed unit at site %s: no code to regenerate\n",
			user, site);
		goto out;
	}
	plan_write_text(&p, &ro, stdout);
	if (!yes) {
		char line[16] = "";

		if (!isatty(STDIN_FILENO)) {
			cli_error("confirmation needed and stdin is not a terminal", "use --auto-approve");
			goto out;
		}
		fputs("\n  Only 'yes' will be accepted to approve.\n  Enter a value: ", stdout);
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin) || strncmp(line, "yes", 3)) {
			cli_error("cancelled", NULL);
			goto out;
		}
	}
	rc = engine_apply(&e, &p, &ao, &res, &err) ? EXIT_ERROR : EXIT_OK;
	printf("\n%s Operations: %u succeeded, %u failed.\n", rc ? "Apply failed." : "Apply complete!",
	       res.ok, res.failed);
out:
	plan_free(&p);
	engine_close(&e);
	spec_free(spec);
	return rc;
}

int cmd_codes(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "config", required_argument, 0, 'c' }, { "site", required_argument, 0, 's' },
		{ "user", required_argument, 0, 'u' }, { "auto-approve", no_argument, 0, 'y' },
		{ "no-color", no_argument, 0, 'n' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
	};
	const char *spec = NULL, *site = NULL, *user = NULL;
	bool yes = false, nocolor = false;
	int c;

	if (argc < 2 || strcmp(argv[1], "regenerate")) {
		fputs(codes_usage, argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc >= 2 && !strcmp(argv[1], "--help") ? EXIT_OK : EXIT_ERROR;
	}
	optind = 1;
	argc--;
	argv++;
	for (;;) {
		c = getopt_long(argc, argv, "c:s:u:h", lo, NULL);
		if (c == -1)
			break;
		if (c == 'c')
			spec = optarg;
		else if (c == 's')
			site = optarg;
		else if (c == 'u')
			user = optarg;
		else if (c == 'y')
			yes = true;
		else if (c == 'n')
			nocolor = true;
		else {
			fputs(codes_usage, c == 'h' ? stdout : stderr);
			return c == 'h' ? EXIT_OK : EXIT_ERROR;
		}
	}
	if (!spec || !site || !user)
		return cli_error("-c SPEC, --site and --user are required", "see --help");
	return run(spec, site, user, yes, nocolor);
}
