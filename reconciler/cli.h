/* cli.h: the reconcile commands (one function per command). */
#ifndef RC_CLI_H
#define RC_CLI_H

#include <stdbool.h>

#include "core/log.h"
#include "specs/spec.h"

/* Stable exit codes (README "Exit codes"). */
enum {
	EXIT_OK = 0,          /* success, no changes */
	EXIT_ERROR = 1,       /* error (also bad usage) */
	EXIT_CHANGES = 2      /* with --detailed-exitcode: changes / findings */
};

int cmd_plan(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_codes(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* Colour on stdout: a tty, NO_COLOR unset, TERM not "dumb". */
bool cli_color(int fd, bool no_color_flag);
/* The columns text may use on fd: the terminal's, else $COLUMNS, else 80. */
unsigned cli_width(int fd);
/* --quiet: no progress lines. */
void cli_set_quiet(bool quiet);
/* Print "reconcile: error: msg" (+ hint) on stderr. Returns EXIT_ERROR. */
int cli_error(const char *msg, const char *hint);
/* The commands' logger: text on stderr; progress (info) only when stderr
 * is a terminal, warnings and errors always (borrowed, static). */
const struct rc_log *cli_log(void);
/* Load the spec at path with every vendor of vendor_table (*out new). */
struct engine;
/* Fibers, HTTP over curl multi and the journal's writer thread on a libev
 * loop around a plan or an apply (several sites and calls at once); true
 * when attached. cli_concurrency_end(e, attached) detaches them. */
bool cli_concurrency_begin(struct engine *e);
void cli_concurrency_end(struct engine *e, bool attached);
int cli_load_spec(const char *path, struct spec **out, struct rc_err *err);

#endif
