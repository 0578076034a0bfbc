#!/bin/sh
# run.sh: contrib/k8s rendered and validated offline (ctest k8s/manifests).
#
#   run.sh SRCDIR RECONCILE NPMDIR
#
# 1. `kubectl kustomize contrib/k8s` renders the kustomization (Debian's
#    kubernetes-client or any kubectl; $KUBECTL names another);
# 2. every rendered object is validated against the Kubernetes OpenAPI
#    schemas bundled in kubernetes-models (npm, pinned in package-lock.json,
#    installed into NPMDIR as tests/tfplan's reader is), and the objects
#    must agree (validate.js: probes, ports, selectors, mounts, credentials);
# 3. the broken fixtures must be refused: bad/*.yaml by the schemas,
#    bad-overlay/ (schema-valid) by the agreement checks;
# 4. the ConfigMap's spec passes `reconcile validate` with every credential
#    it names present as a dummy file in $CREDENTIALS_DIRECTORY (and warns
#    about each of them when they are absent);
# 5. the ConfigMap's nats.conf passes `nats-server -t` (where nats-server is
#    installed, or $NATS_SERVER_BIN names it), and fails it without the
#    password variable the Secret provides.
# Exits 77 (skipped) without kubectl or npm.
set -eu

src=$1 reconcile=$2 npmdir=$3
here=$src/tests/k8s
kubectl=${KUBECTL:-kubectl}
command -v "$kubectl" >/dev/null 2>&1 || { echo "SKIP: no kubectl (contrib/bootstrap.sh installs kubernetes-client)"; exit 77; }
command -v npm >/dev/null 2>&1 || { echo "SKIP: no npm"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/reconcile-k8s-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# the validator: installed once per lock file
mkdir -p "$npmdir"
if ! cmp -s "$here/package-lock.json" "$npmdir/package-lock.json" || [ ! -d "$npmdir/node_modules" ]; then
	cp "$here/package.json" "$here/package-lock.json" "$npmdir/"
	(cd "$npmdir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
cp "$here/validate.js" "$npmdir/"
validate() { node "$npmdir/validate.js" "$@"; }

echo "== render: $kubectl kustomize contrib/k8s"
"$kubectl" kustomize "$src/contrib/k8s" >"$tmp/rendered.yaml"
mkdir "$tmp/out"
echo "== validate every object, and their agreement"
validate rendered "$tmp/rendered.yaml" "$tmp/out"

echo "== broken manifests must be refused"
validate refuse "$here"/bad/*.yaml
"$kubectl" kustomize "$here/bad-overlay" >"$tmp/bad.yaml" 2>/dev/null
mkdir "$tmp/bad-out"
if validate rendered "$tmp/bad.yaml" "$tmp/bad-out" >"$tmp/bad.log"; then
	cat "$tmp/bad.log"; echo "FAIL: bad-overlay passed the agreement checks"; exit 1
fi
for want in "readinessProbe on /healthz, not /readyz" "pti_api_key"; do
	grep -F -q "$want" "$tmp/bad.log" || { cat "$tmp/bad.log"; echo "FAIL: bad-overlay: no failure naming \"$want\""; exit 1; }
done
echo "refused, as it must be: bad-overlay ($(grep -c '^FAIL' "$tmp/bad.log") failures)"

echo "== the ConfigMap's spec: reconcile validate"
mkdir "$tmp/cred"
n=$(grep -c . "$tmp/out/credentials")
CREDENTIALS_DIRECTORY=$tmp/cred "$reconcile" validate -c "$tmp/out/spec.json" >"$tmp/v1.log" 2>&1
got=$(grep -c 'warning: cannot read' "$tmp/v1.log" || true)
[ "$got" -eq "$n" ] || { cat "$tmp/v1.log"; echo "FAIL: $got warnings for $n absent credentials"; exit 1; }
while read -r c; do (umask 077; echo "dummy-$c" >"$tmp/cred/$c"); done <"$tmp/out/credentials"
CREDENTIALS_DIRECTORY=$tmp/cred "$reconcile" validate -c "$tmp/out/spec.json" >"$tmp/v2.log" 2>&1 ||
	{ cat "$tmp/v2.log"; echo "FAIL: reconcile validate refused the spec"; exit 1; }
if grep -q warning "$tmp/v2.log"; then cat "$tmp/v2.log"; echo "FAIL: warnings with every credential present"; exit 1; fi
cat "$tmp/v2.log"
echo "spec valid, its $n credentials read from the dummy \$CREDENTIALS_DIRECTORY"

echo "== the ConfigMap's nats.conf: nats-server -t"
nats=${NATS_SERVER_BIN:-nats-server}
if command -v "$nats" >/dev/null 2>&1; then
	SERVER_NAME=nats-0 NATS_PASSWORD=dummy "$nats" -t -c "$tmp/out/nats.conf"
	if env -u NATS_PASSWORD SERVER_NAME=nats-0 "$nats" -t -c "$tmp/out/nats.conf" >/dev/null 2>&1; then
		echo "FAIL: nats.conf is valid without \$NATS_PASSWORD: the login is not the Secret's"; exit 1
	fi
else
	echo "note: no nats-server, nats.conf not parsed (contrib/bootstrap.sh test installs it)"
fi
echo "k8s manifests: all checks passed"
