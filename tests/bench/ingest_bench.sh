#!/usr/bin/env bash
# ingest_bench.sh: POST /v1/events throughput, accepted and stored.
#
# Starts a throwaway PostgreSQL (deploy/pg.sh) and cupd serve, seeds the demo
# org, creates an SDK Key with the real CLI, warms up, then runs
#   wrk -t2 -c${CONNECTIONS} -d${DURATION}s -s ingest_bench.lua
# where every request carries a batch of BATCH events (default 100). It
# prints requests/s, events/s answered 202, and events/s actually stored
# (rows counted in PostgreSQL after the run), plus the CPU time cupd and
# PostgreSQL used and the WAL written, so a shortfall points at its cause.
# The per-key rate limit is lifted so the limiter never answers 429.
# Target: at least 100,000 events/s on one instance of a 2-core machine.
# Not a ctest test; every run is bounded in time and everything it starts
# is stopped and removed on exit.
#
# Settings (environment):
#   DURATION=10        seconds of the measured run (1..300)
#   CONNECTIONS=16     wrk connections
#   BATCH=100          events per request (1..1000)
#   CUPD_WORKERS=2     cupd worker threads
#   DB_POOL=4          PostgreSQL connections per worker
#   DURABLE=0          1: the cluster keeps fsync and synchronous_commit on,
#                      so every 202 means the events are on disk
#   CUPD_PORT=18094    BUILD_DIR=build (relative to the repository, or absolute)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BUILD=${BUILD_DIR:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
PG_SH=$ROOT/deploy/pg.sh
LUA=$ROOT/tests/bench/ingest_bench.lua
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-16}
BATCH=${BATCH:-100}
WORKERS=${CUPD_WORKERS:-2}
DB_POOL=${DB_POOL:-4}
DURABLE=${DURABLE:-0}
CUPD_PORT=${CUPD_PORT:-18094}

die() { echo "ingest_bench.sh: $*" >&2; exit 1; }

[[ $DURATION =~ ^[0-9]+$ ]] && ((DURATION >= 1 && DURATION <= 300)) || die "DURATION must be 1..300 seconds"
[[ $BATCH =~ ^[0-9]+$ ]] && ((BATCH >= 1 && BATCH <= 1000)) || die "BATCH must be 1..1000"
[[ $CONNECTIONS =~ ^[0-9]+$ ]] && ((CONNECTIONS >= 2 && CONNECTIONS <= 1000)) || die "CONNECTIONS must be 2..1000"
for tool in wrk curl psql cmake; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found (./deploy/dev.sh run installs it)"
done
(exec 3<>"/dev/tcp/127.0.0.1/$CUPD_PORT") 2>/dev/null && die "port $CUPD_PORT is in use; set CUPD_PORT"

# ---------------------------------------------------------------- build
if [[ ! -f $BUILD/CMakeCache.txt ]]; then
	cmake -S "$ROOT" -B "$BUILD" >/dev/null
fi
cmake --build "$BUILD" -j"$(nproc)" --target cupd >/dev/null

# ---------------------------------------------------------------- start
WORK=$(mktemp -d)
PGDIR=$(mktemp -d)
CUPD_PID=""
cleanup() {
	if [[ -n $CUPD_PID ]]; then
		kill -TERM "$CUPD_PID" 2>/dev/null || true
		wait "$CUPD_PID" 2>/dev/null || true
	fi
	"$PG_SH" destroy "$PGDIR" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

if [[ $DURABLE == 1 ]]; then
	"$PG_SH" init "$PGDIR" --durable >/dev/null
fi
"$PG_SH" start "$PGDIR" >/dev/null
DATABASE_URL=$("$PG_SH" url "$PGDIR")
export DATABASE_URL
q() { psql -X -At -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -c "$1"; }

"$BUILD/cupd" migrate >/dev/null
"$BUILD/cupd" seed-demo --password-file "$WORK/demo-password" >/dev/null 2>&1
KEY=$("$BUILD/cupd" sdk-key create --org demo --project web-app --name bench 2>/dev/null)
[[ $KEY == cup_sdk_* ]] || die "could not create an SDK Key"

# The access log stays on (to a file, as under a supervisor): it is part of
# what a request costs.
env CUPD_LISTEN="127.0.0.1:$CUPD_PORT" CUPD_WORKERS="$WORKERS" CUPD_DB_POOL_SIZE="$DB_POOL" \
	CUPD_ACCESS_LOG=on CUPD_RATE_SDK_KEY_PER_MIN=10000000 \
	"$BUILD/cupd" serve >"$WORK/cupd.out" 2>"$WORK/cupd.err" &
CUPD_PID=$!
for ((i = 0; i < 150; i++)); do
	curl -fsS -o /dev/null "http://127.0.0.1:$CUPD_PORT/healthz" 2>/dev/null && break
	kill -0 "$CUPD_PID" 2>/dev/null || { cat "$WORK/cupd.err" >&2; die "cupd exited"; }
	sleep 0.1
done

# CPU ticks (user + system) of a process and, with children=1, its children.
ticks() {
	local pid=$1 children=${2:-0} sum=0 p
	local pids=("$pid")
	if ((children)); then
		for p in /proc/[0-9]*; do
			[[ -r $p/stat ]] || continue
			read -r _ _ _ ppid _ <"$p/stat" 2>/dev/null || continue
			((ppid == pid)) && pids+=("${p#/proc/}")
		done
	fi
	for p in "${pids[@]}"; do
		# fields 14 and 15 after the ")" of the command name
		local stat
		stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		stat=${stat##*) }
		read -r -a f <<<"$stat"
		sum=$((sum + f[11] + f[12]))
	done
	echo "$sum"
}
PG_PID=$(head -1 "$PGDIR/data/postmaster.pid")
HZ=$(getconf CLK_TCK)

run_wrk() { # run_wrk SECONDS OUTFILE
	CUPD_SDK_KEY=$KEY BATCH=$BATCH wrk -t2 -c"$CONNECTIONS" -d"$1"s --latency -s "$LUA" \
		"http://127.0.0.1:$CUPD_PORT/v1/events" >"$2" 2>&1
}

echo "warming up (3 s)..."
run_wrk 3 "$WORK/warm"
sleep 1
rows_before=$(q "SELECT count(*) FROM events")
wal_before=$(q "SELECT pg_current_wal_lsn()")
cupd_t0=$(ticks "$CUPD_PID") pg_t0=$(ticks "$PG_PID" 1)

echo "measuring ${DURATION}s: wrk -t2 -c$CONNECTIONS, $BATCH events per request..."
run_wrk "$DURATION" "$WORK/run"
cupd_t1=$(ticks "$CUPD_PID") pg_t1=$(ticks "$PG_PID" 1)
sleep 1 # requests wrk abandoned at its deadline still finish
rows_after=$(q "SELECT count(*) FROM events")
wal_bytes=$(q "SELECT pg_current_wal_lsn() - '$wal_before'::pg_lsn")

line=$(grep '^RESULT ' "$WORK/run") || { cat "$WORK/run" >&2; die "no result from wrk"; }
eval "${line#RESULT }" # requests= non2xx= socket_errors= seconds= p99_ms=
accepted_req=$((requests - non2xx))
stored=$((rows_after - rows_before))

awk -v req="$requests" -v acc="$accepted_req" -v b="$BATCH" -v s="$seconds" -v stored="$stored" \
	-v p99="$p99_ms" -v n2="$non2xx" -v se="$socket_errors" -v c="$CONNECTIONS" -v d="$DURABLE" \
	-v wal="$wal_bytes" -v cc="$((cupd_t1 - cupd_t0))" -v pc="$((pg_t1 - pg_t0))" -v hz="$HZ" -v w="$WORKERS" -v cores="$(nproc)" '
BEGIN {
	printf "\nPOST /v1/events, %d events per request, wrk -t2 -c%d, %.1f s, %s cluster, cupd %d workers, %d cores\n",
		b, c, s, (d == 1 ? "durable (fsync on)" : "non-durable (fsync off)"), w, cores
	printf "  requests/s                  %12.0f   (p99 %s ms)\n", req / s, p99
	printf "  events/s answered 202       %12.0f\n", acc * b / s
	printf "  events/s stored (rows)      %12.0f   (%d rows; 202s promised %d)\n", stored / s, stored, acc * b
	printf "  non-2xx answers             %12d\n  socket errors               %12d\n", n2, se
	printf "  WAL written                 %12.1f MB/s   (%.0f bytes per stored event)\n",
		wal / s / 1e6, (stored > 0 ? wal / stored : 0)
	printf "  CPU: cupd %.2f cores, PostgreSQL %.2f cores (wrk and the rest: the remainder of %d)\n",
		cc / hz / s, pc / hz / s, cores
	verdict = (stored / s >= 100000) ? "meets" : "below"
	printf "  %s the 100,000 events/s target\n", verdict
}'
((stored >= accepted_req * BATCH)) || die "fewer rows stored ($stored) than events answered 202 ($((accepted_req * BATCH)))"
