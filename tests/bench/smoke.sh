#!/bin/sh
# bench/smoke (ctest, label bench): every benchmark at a tiny size, so that
# the code cannot rot. It checks that each program runs to its end and
# prints its report (its goal lines); never a time or a ratio: timing goals
# live in the benchmarks, run by hand (README.md). Usage: smoke.sh BUILD_DIR
set -u
B=${1:?usage: smoke.sh BUILD_DIR}
T=$(mktemp -d "${TMPDIR:-/tmp}/reconcile-bench-smoke-XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
fail=0

# run NAME PATTERN CMD...: CMD exits 0 and its stdout holds PATTERN.
run() {
	name=$1 pat=$2
	shift 2
	timeout 60 "$@" >"$T/$name.out" 2>"$T/$name.err"
	st=$?
	if [ $st -ne 0 ]; then
		echo "FAIL: $name: exit status $st ($*)"; cat "$T/$name.err" "$T/$name.out"; fail=1
	elif ! grep -q -- "$pat" "$T/$name.out"; then
		echo "FAIL: $name: no \"$pat\" in its output ($*)"; cat "$T/$name.out"; fail=1
	else
		echo "ok: $name"
	fi
}

for p in bench_plan bench_workq bench_plan_file bench_apply bench_serve bench_cluster gen_snapshot; do
	run "$p-help" "Usage: $p" "$B/$p" --help
done
run bench_plan "units/s" "$B/bench_plan" 2 20
run bench_workq "take+done/s" "$B/bench_workq" 1000 4
run gen_snapshot "" "$B/gen_snapshot" --sites 2 --units-per-site 10 --out "$T/gen"
[ -s "$T/gen/snapshot.json" ] && [ -s "$T/gen/spec.json" ] && [ -s "$T/gen/seed.json" ] ||
	{ echo "FAIL: gen_snapshot wrote no snapshot, spec or seed"; fail=1; }
export TMPDIR="$T"
run bench_plan_file "goal" "$B/bench_plan_file" --units 400 --runs 1
run bench_apply "goal" "$B/bench_apply" --creates 40 --units-per-site 40 --latency-ms 1 \
	--serial-creates 20
run bench_serve "goal" "$B/bench_serve" --units 10 --slow-events 2 --fast-rate 20 \
	--fast-seconds 1 --flood 40 --burst 4 --timeout 20
run bench_serve-scoped "scoped cost" "$B/bench_serve" --units 10,20 --phases slow --slow-events 1
# the emulated slow disk (libbench_slowsync.so preloaded): the flood only
run bench_serve-slow-disk "ingest" "$B/bench_serve" --units 10 --phases flood --flood 40 \
	--sync-delay 1 --timeout 20
# the cluster benchmark needs nats-server (contrib/bootstrap.sh test installs it);
# 8 shards and a 2 s TTL keep the binds and the takeover to seconds
if [ -n "${NATS_SERVER_BIN:-}" ] || command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]; then
	run bench_cluster "takeover after kill -9" "$B/bench_cluster" --sites 4 --units-per-site 60 \
		--instances 2 --rate 10 --seconds 1 --burst 4 --shards 8 --ttl 2 --takeover-rate 1 \
		--timeout 20
else
	echo "skip: bench_cluster (no nats-server)"
fi
exit $fail
