#!/bin/sh
# layers.sh SOURCE_DIR: the layering of docs/architecture.md holds.
#   core/ includes nothing of the project above it;
#   specs/ and state/ include only core/ (and each other);
#   providers/ never includes reconciler/;
#   no header includes another folder's internals (*_int.h);
#   no C file of reconciler/, state/ or specs/ names a vendor (its name,
#   its fields, its rule ids) but that vendor's own diff file;
#   the rule tests touch no LMDB.
# Prints each breach with its file and line; exits 1 when there is any.
set -u
cd "${1:-.}" || exit 2
for d in core specs state providers reconciler tests/unit; do
	[ -d "$d" ] || { echo "layers.sh: no $d/ in $(pwd)" >&2; exit 2; }
done
fail=0

breach() { # breach MESSAGE LINES: print LINES (grep's) under MESSAGE, if any
	if [ -n "$2" ]; then
		printf '%s\n%s\n\n' "$1" "$2"
		fail=1
	fi
}

breach "core/ includes a folder above it:" \
	"$(grep -nE '#include "(specs|state|providers|reconciler)/' core/*.[ch])"
breach "specs/ or state/ include a folder above them:" \
	"$(grep -nE '#include "(providers|reconciler)/' specs/*.[ch] state/*.[ch])"
breach "providers/ includes reconciler/:" \
	"$(grep -nE '#include "reconciler/' providers/*.[ch])"
breach "a file includes another folder's internals:" \
	"$(grep -nE '#include "[a-z]+/[a-z_]+_int\.h"' core/*.[ch] specs/*.[ch] state/*.[ch] \
		providers/*.[ch] reconciler/*.[ch])"
breach "a file of reconciler/, state/ or specs/ names a vendor (use its descriptor):" \
	"$(grep -niE '\b(opentech|pti|openapp|storlogix)\b|\b(OT[1-6]|PT[1-8]|OA[1-5])\b|\b(ot|oa|pti)_[a-z]' \
		reconciler/*.[ch] state/*.[ch] specs/*.[ch] |
		grep -vE '^reconciler/diff_(opentech|pti|openapp)\.c:')"
breach "a rule test touches LMDB:" \
	"$(grep -nE 'state/store\.h|store_(open|txn_begin|pms_put)|mdb_' tests/unit/test_rules_*.c \
		tests/unit/fixture.[ch])"
exit $fail
