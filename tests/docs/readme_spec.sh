#!/bin/sh
# readme_spec.sh RECONCILE SRC: the spec example of README.md (the ```json
# block after the line <!-- spec example: validated by docs/readme_spec -->) is a valid spec:
# `reconcile validate` accepts it (credentials unset: warnings only).
set -eu
bin=$1 src=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/readme-spec.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
awk 'index($0, "<!-- spec example: validated by docs/readme_spec -->"){f=1; next}
     f&&/^```json/{p=1; next} p&&/^```/{exit} p' \
	"$src/README.md" >"$tmp/spec.json"
[ -s "$tmp/spec.json" ] || { echo "README.md: no spec example after its marker"; exit 1; }
"$bin" validate -c "$tmp/spec.json"
