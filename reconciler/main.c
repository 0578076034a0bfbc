/* main.c: command dispatch and top-level usage. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "providers/vendor.h"

static const char usage_head[] =
"Usage: reconcile [--version] [--help] <command> [options]\n"
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

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		print_usage(stderr);
		return EXIT_ERROR;
	}
	cmd = argv[1];
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
