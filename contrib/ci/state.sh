#!/bin/sh
# contrib/ci/state.sh pack|unpack SPEC FILE
#
# Keeps a spec's state directory between CI runs as one encrypted file,
# which the CI system's cache carries from one run to the next:
#   unpack  before reconcile runs: FILE (if the cache had one) -> the state
#           directory; without FILE, reconcile starts from an empty one (and
#           `plan` says which sites have no applied state to compare with)
#   pack    after `reconcile apply`, whatever its outcome: the state
#           directory -> FILE
#
# The state directory holds keyed hashes of gate codes and their key
# (hash.key): together they are as secret as the codes (a 6-digit code is
# found from its hash in a moment), so FILE is encrypted (AES-256, key
# derived with PBKDF2 from $RECONCILE_STATE_KEY, a CI secret that only
# these jobs get). The state directory is the spec's "state_dir", relative
# to the spec's folder, ".reconcile-state" by default (specs/README.md).
# Needs jq, tar and openssl.
set -eu

usage() {
	echo "usage: $0 pack|unpack SPEC FILE" >&2
	exit 2
}

[ $# -eq 3 ] || usage
op=$1
spec=$2
file=$3
: "${RECONCILE_STATE_KEY:?is not set: the CI secret that encrypts the kept state}"

dir=$(jq -er '.state_dir // ".reconcile-state"' "$spec")
case $dir in
/*) ;;
*) dir=$(dirname "$spec")/$dir ;;
esac

case $op in
pack)
	if [ ! -f "$dir/hash.key" ]; then
		echo "state.sh: $dir holds no state: nothing to keep" >&2
		exit 0
	fi
	# LMDB's lock files and the apply lock are remade by the next run
	tar -C "$dir" -cf "$file.tar" --exclude=./lock.mdb --exclude=./events.mdb-lock \
		--exclude=./apply.lock .
	openssl enc -aes-256-cbc -pbkdf2 -iter 200000 -salt -pass env:RECONCILE_STATE_KEY \
		-in "$file.tar" -out "$file.tmp"
	rm -f "$file.tar"
	mv "$file.tmp" "$file"
	echo "state.sh: $dir kept in $file" >&2
	;;
unpack)
	if [ ! -f "$file" ]; then
		echo "state.sh: no kept state ($file): reconcile starts from an empty $dir" >&2
		exit 0
	fi
	umask 077
	mkdir -p "$dir"
	openssl enc -d -aes-256-cbc -pbkdf2 -iter 200000 -pass env:RECONCILE_STATE_KEY \
		-in "$file" -out "$file.tar"
	tar -C "$dir" -xf "$file.tar"
	rm -f "$file.tar"
	echo "state.sh: $dir restored from $file" >&2
	;;
*)
	usage
	;;
esac
