/* main.c: command dispatch and top-level usage. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "providers/vendor.h"
#include "state/store.h"

static const char usage_head[] =
"Usage: reconcile [--version] [--help] [--reinit-state] <command> [options]\n"
"\n"
"Keeps the access-control systems of self-storage facilities in line with\n"
"the property-management system (Storeganise): compute the desired state,\n"
"diff it against the observed state, preview and apply the minimal\n"
"operations.\n";

static const char usage[] =
"\n"
"Commands:\n"
"  plan      Show what apply would change (refreshes vendor state first)\n"
"  apply     Make the vendors match the PMS (asks first, or runs a saved plan)\n"
"  serve     Run continuously: periodic reconciles and Storeganise webhooks\n"
"  report    Show every mismatch between the vendors and the PMS (text,\n"
"            JSON, CSV or HTML); changes nothing\n"
"  validate  Check a spec file\n"
"  codes     codes regenerate: a new access code for a customer\n"
"  demo      Run plan/apply/plan against the bundled simulators\n"
"\n"
"Run 'reconcile <command> --help' for a command's options.\n"
"\n"
"--reinit-state (before or after the command): a state directory refused as\n"
"damaged has its files moved aside (<name>.damaged-<time>, nothing deleted)\n"
"and starts empty; a sound one is used as it is.\n"
"\n"
"Exit codes: 0 success (no changes), 1 error, 2 changes present\n"
"(plan --detailed-exitcode).\n";

static void print_usage(FILE *f)
{
	size_t i;

	fputs(usage_head, f);
	fputs("Vendors:", f);
	for (i = 0; vendor_table[i]; i++)
		fprintf(f, "%s %s (\"%s\")", i ? "," : "", vendor_table[i]->spec.title,
			vendor_table[i]->spec.name);
	fputs(".\n", f);
	fputs(usage, f);
}

/* --reinit-state, before the command or among its options (not after
 * "--"): taken out of argv (*argc updated), true when it was there. */
static bool take_reinit(int *argc, char **argv)
{
	bool found = false;
	int i, j;

	for (i = j = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--reinit-state"))
			found = true;
		else
			argv[j++] = argv[i];
	}
	while (i < *argc)
		argv[j++] = argv[i++];
	argv[j] = NULL;
	*argc = j;
	return found;
}

int main(int argc, char **argv)
{
	const char *cmd;

	store_set_reinit(take_reinit(&argc, argv));
	if (argc < 2) {
		print_usage(stderr);
		return EXIT_ERROR;
	}
	cmd = argv[1];
	store_set_command(cmd); /* names the holder of the apply lock */
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		print_usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("reconcile %s\n", RECONCILE_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "plan"))
		return cmd_plan(argc - 1, argv + 1);
	if (!strcmp(cmd, "apply"))
		return cmd_apply(argc - 1, argv + 1);
	if (!strcmp(cmd, "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (!strcmp(cmd, "codes"))
		return cmd_codes(argc - 1, argv + 1);
	if (!strcmp(cmd, "report"))
		return cmd_report(argc - 1, argv + 1);
	if (!strcmp(cmd, "validate"))
		return cmd_validate(argc - 1, argv + 1);
	if (!strcmp(cmd, "demo"))
		return cmd_demo(argc - 1, argv + 1);
	fprintf(stderr, "reconcile: unknown command \"%s\"\n\n", cmd);
	print_usage(stderr);
	return EXIT_ERROR;
}
