#!/bin/sh
# run.sh: real Terraform plan JSON readers on the plans e2e_tfplan wrote.
#
#   run.sh go   PLANDIR WORKDIR   HashiCorp's Go types (Debian's tfjson),
#                                 through check_tfjson.go
#   run.sh node PLANDIR WORKDIR   @ahmadnassri/terraform-unidiff from npm
#                                 (pinned in package-lock.json)
#
# Each reader must accept every PLANDIR/*.json and must refuse
# legacy-plan-format-1.0.json (the plan JSON before it followed Terraform's
# format), so the test can fail. The unidiff reader's totals must be the
# plan's own.
set -eu

reader=$1 plans=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
legacy=$here/legacy-plan-format-1.0.json
mkdir -p "$work"
set -- "$plans"/*.json
[ -e "$1" ] || { echo "no plans in $plans (e2e_tfplan writes them)"; exit 1; }

case $reader in
go)
	GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$work/gocache GOFLAGS= \
		go build -o "$work/check_tfjson" "$here/check_tfjson.go"
	"$work/check_tfjson" "$@"
	if "$work/check_tfjson" "$legacy" >/dev/null; then
		echo "FAIL: the Go reader accepted the legacy plan JSON"; exit 1
	fi
	;;
node)
	cp "$here/package.json" "$here/package-lock.json" "$work/"
	(cd "$work" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	bin=$work/node_modules/@ahmadnassri/terraform-unidiff/bin.js
	for plan in "$@"; do
		out=$(node "$bin" "$plan" | tail -n 1)
		want=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["reconcile_summary"]
print("Plan: %d to add, %d to change, %d to destroy" % (s["add"], s["change"], s["destroy"]))' "$plan")
		echo "$plan: $out"
		[ "$out" = "$want" ] || { echo "FAIL: expected \"$want\""; exit 1; }
	done
	if node "$bin" "$legacy" >/dev/null 2>&1; then
		echo "FAIL: the npm reader accepted the legacy plan JSON"; exit 1
	fi
	;;
*)
	echo "usage: run.sh go|node PLANDIR WORKDIR" >&2; exit 2
	;;
esac
echo "legacy plan JSON refused, as it must be"
