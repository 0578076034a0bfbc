#!/bin/sh
# units.sh DIR: every systemd service of DIR rates <= 2.0 (OK) in
# `systemd-analyze security`, read from the unit file. Exit 77 (skipped)
# without a systemd-analyze that has --offline (systemd >= 250).
dir=${1:?usage: units.sh DIR}
command -v systemd-analyze >/dev/null 2>&1 || { echo "skip: no systemd-analyze"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/units.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
# --threshold= compares with the exposure x 10 (2.0 -> 20)
systemd-analyze security --offline=true --threshold=100 "$dir/reconcile.service" >"$tmp/probe" 2>&1 ||
	{ echo "skip: systemd-analyze security --offline=true does not work here:"; cat "$tmp/probe"; exit 77; }
rc=0
for u in "$dir"/*.service; do
	if systemd-analyze security --offline=true --threshold=20 "$u" >"$tmp/out" 2>&1; then
		tail -n 1 "$tmp/out"
	else
		echo "FAIL: $u rates above 2.0 (or does not parse):"
		grep -v '✓' "$tmp/out"
		rc=1
	fi
done
exit $rc
