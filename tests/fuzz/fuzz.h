/*
 * fuzz.h: what the libFuzzer targets of tests/fuzz share. Each target is
 * one file with LLVMFuzzerTestOneInput; see tests/fuzz/README.md.
 */
#ifndef RC_FUZZ_H
#define RC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "specs/spec.h"

/* The credentials the fuzz specs name (their values are dummies). */
void fuzz_env(void);
/* A new directory under $TMPDIR (or /tmp) for this process; removed at
 * exit with what it holds. Returns its path (static). */
const char *fuzz_tmpdir(void);
/* A spec from a file of the source tree (RECONCILE_SOURCE_DIR), its
 * state_dir replaced by dir and its HTTP retries cut to one attempt, so
 * that one input is one pass. Exits on failure: a broken harness. */
struct spec *fuzz_spec(const char *rel_path, const char *state_dir);
/* Remove every file in dir (not dir). */
void fuzz_empty_dir(const char *dir);

#endif
