#!/usr/bin/env bash
# contrib/bootstrap.sh: everything needed on a fresh Debian 12 machine.
#   contrib/bootstrap.sh demo   install packages, build, run the demo
#   contrib/bootstrap.sh test   install packages, build (-Werror), run all
#                               tests, then again under ASan+UBSan, then
#                               each fuzz target for FUZZ_SECONDS (20)
#   contrib/bootstrap.sh build  install packages and build only
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(cmake gcc make pkg-config libcurl4-openssl-dev libjansson-dev liblmdb-dev
      lmdb-utils libev-dev libmicrohttpd-dev libcmocka-dev libssl-dev zlib1g-dev)
# the HTML report's browser test (chromium); e2e_drift_check runs
# contrib/ci/state.sh, which needs jq and the openssl CLI; the spec test
# (spec/schema_agrees) validates with python3-jsonschema; the fuzz targets
# (tests/fuzz) need clang and its libFuzzer runtime
TEST_PKGS=(chromium jq openssl python3-jsonschema clang libclang-rt-14-dev)

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
    ;;
  *)
    echo "usage: contrib/bootstrap.sh demo|test|build" >&2
    exit 64
    ;;
esac
