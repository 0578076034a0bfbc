#!/usr/bin/env bash
# contrib/bootstrap.sh: everything needed on a fresh Debian 12 machine.
#   contrib/bootstrap.sh demo   install packages, build, run the demo
#   contrib/bootstrap.sh test   install packages, build (-Werror), run all
#                               tests, then again under ASan+UBSan, then
#                               each fuzz target for FUZZ_SECONDS (20)
#   contrib/bootstrap.sh build  install packages and build only
#   contrib/bootstrap.sh package  build the .deb (build-pkg/), check the
#                               units' hardening, install it (as root or
#                               with sudo), run `reconcile demo` from
#                               /usr/bin, purge it and check nothing is
#                               left (a CI machine: it replaces and then
#                               removes any installed reconcile package)
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(cmake gcc make pkg-config libcurl4-openssl-dev libjansson-dev liblmdb-dev
      lmdb-utils libev-dev libmicrohttpd-dev libcmocka-dev libssl-dev zlib1g-dev help2man
      libnats-dev python3) # python3: reconcile-spec(5) is made from the schema (contrib/man)
# the HTML report's browser test (chromium); e2e_drift_check runs
# contrib/ci/state.sh, which needs jq and the openssl CLI; the spec test
# (spec/schema_agrees) validates with python3-jsonschema; the fuzz targets
# (tests/fuzz) need clang and its libFuzzer runtime; man/spec renders the
# spec's man page with groff and man (man-db); the README examples
# (docs/readme_examples) sign and send a webhook with openssl and curl; the
# plan JSON is read by HashiCorp's Go types (tests/tfplan: Go and Debian's
# tfjson) and by an npm reader (npm: the machine's Node.js, else Debian's);
# the cluster test (e2e_cluster) runs a 3-node JetStream cluster of nats-server;
# contrib/k8s is rendered by `kubectl kustomize` (Debian's kubernetes-client
# where no kubectl is installed: another kubectl package owns the same path)
# and validated by an npm package (tests/k8s)
TEST_PKGS=(chromium jq openssl curl python3-jsonschema clang libclang-rt-14-dev man-db
           golang-go golang-github-hashicorp-terraform-json-dev nats-server)
# the .deb: dpkg-shlibdeps (CPACK_DEBIAN_PACKAGE_SHLIBDEPS), and
# systemd-analyze for the units' security rating
PACKAGE_PKGS=(dpkg-dev file systemd) # file: CPack DEB looks at each file with it (shlibdeps)

install_packages() {
  local missing=()
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "bootstrap: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() { # build DIR [cmake args...]
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)"
}

# The Debian package, end to end (see the usage above); about a minute.
package_deb() {
  local sudo="" deb tmp f left=0
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  cmake -S . -B build-pkg -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
    -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON -DRECONCILE_WERROR=ON >/dev/null
  cmake --build build-pkg -j"$(nproc)" --target reconcile reconcile-sim man
  rm -f build-pkg/reconcile_*.deb
  (cd build-pkg && cpack -G DEB >/dev/null)
  deb=$(ls build-pkg/reconcile_*.deb)
  echo "bootstrap: built $deb" >&2
  sh tests/lint/units.sh contrib/systemd || [ $? -eq 77 ]
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "./$deb" >/dev/null
  getent passwd reconcile >/dev/null || { echo "bootstrap: no user reconcile" >&2; return 1; }
  [ -d /var/lib/reconcile ] && [ -d /etc/reconcile/credentials ] ||
    { echo "bootstrap: /var/lib/reconcile or /etc/reconcile/credentials missing" >&2; return 1; }
  # the installed demo: no build tree, no source tree in the environment
  tmp=$(mktemp -d)
  (cd "$tmp" && env -i PATH=/usr/bin:/bin HOME="$tmp" /usr/bin/reconcile demo --dir "$tmp/demo" \
    >"$tmp/demo.log" 2>&1) || { cat "$tmp/demo.log"; echo "bootstrap: installed demo failed" >&2; return 1; }
  grep -q "exit code 0" "$tmp/demo.log"
  env -i PATH=/usr/bin:/bin /usr/bin/reconcile validate -c /etc/reconcile/spec.json.example >/dev/null
  echo "bootstrap: installed reconcile demo ran (from /usr/bin, data in /usr/share/reconcile)" >&2
  dpkg-query -L reconcile >"$tmp/files"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get purge -y -qq reconcile >/dev/null
  while read -r f; do
    if [ -f "$f" ]; then echo "bootstrap: left after purge: $f" >&2; left=1; fi
  done <"$tmp/files"
  [ -e /var/lib/reconcile ] && { echo "bootstrap: /var/lib/reconcile left after purge" >&2; left=1; }
  rm -rf "$tmp"
  [ $left -eq 0 ] && echo "bootstrap: package installed, demo run, purged: nothing left" >&2
  return $left
}

cmd=${1:-}
case "$cmd" in
  build)
    install_packages
    build build -DRECONCILE_WERROR=ON
    ;;
  demo)
    install_packages
    build build
    exec build/reconcile demo
    ;;
  test)
    PKGS+=("${TEST_PKGS[@]}")
    command -v npm >/dev/null || PKGS+=(nodejs npm)
    command -v kubectl >/dev/null || PKGS+=(kubernetes-client)
    install_packages
    build build -DRECONCILE_WERROR=ON
    ctest --test-dir build --output-on-failure --no-tests=error -j2
    echo "bootstrap: tests again under ASan+UBSan" >&2
    build build-asan -DRECONCILE_WERROR=ON -DRECONCILE_SANITIZE=ON
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --test-dir build-asan --output-on-failure --no-tests=error -j2
    echo "bootstrap: fuzz targets, ${FUZZ_SECONDS:-20} s each" >&2
    cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DRECONCILE_FUZZ=ON \
      -DFUZZ_SECONDS="${FUZZ_SECONDS:-20}" >/dev/null
    cmake --build build-fuzz -j"$(nproc)"
    ctest --test-dir build-fuzz --output-on-failure --no-tests=error -j2
    echo "bootstrap: the Debian package" >&2
    PKGS+=("${PACKAGE_PKGS[@]}")
    install_packages
    package_deb
    ;;
  package)
    PKGS+=("${PACKAGE_PKGS[@]}")
    install_packages
    package_deb
    ;;
  *)
    echo "usage: contrib/bootstrap.sh demo|test|build|package" >&2
    exit 64
    ;;
esac
