#!/usr/bin/env bash
# refresh_bench.sh: refresh-token grants per second with durable commits,
# and access-token signing/verification per second (issue 4's benchmark).
#
# Starts a throwaway PostgreSQL cluster with fsync and synchronous_commit on
# (deploy/pg.sh --durable: every refresh is a committed, flushed
# transaction), cupd serve with a key encryption key, one public DCR client,
# and CLIENTS connections (default 16) that each walk their own rotation
# chain: POST /oauth/token grant_type=refresh_token, spend the token, send
# the successor from the answer (tests/bench/refresh_bench.lua under
#   wrk -t2 -c$CLIENTS -d${DURATION}s --latency).
# Each refresh is one statement (cupd_refresh_grant: row lock, insert the
# successor, spend the old token, touch the grant) plus one ES256 signature
# on the work pool. Prints refreshes/s, p50/p90/p99, errors, and the CPU
# seconds cupd, PostgreSQL and wrk used per 1,000 refreshes, then runs
# refresh_bench_verify for sign / uncached verify / cached check rates.
# Targets (issue 4): >= 3,000 refreshes/s and p99 < 20 ms at 16 clients.
# Numbers are reported, not asserted; any non-200 answer fails the script.
#
# Settings (environment):
#   DURATION=10   seconds per measured run (1..300)     CLIENTS=16 connections
#   ROUNDS=1      measured runs (fresh chains each); the best one counts
#   CUPD_WORKERS=2 worker threads   CUPD_PORT=18097   BUILD_DIR=build
#   PROFILE=1     record the cupd process with perf during the last run and
#                 print its top symbols
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BUILD=${BUILD_DIR:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
PG_SH=$ROOT/deploy/pg.sh
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-1}
CLIENTS=${CLIENTS:-16}
WORKERS=${CUPD_WORKERS:-2}
CUPD_PORT=${CUPD_PORT:-18097}
THREADS=2

die() { echo "refresh_bench.sh: $*" >&2; exit 1; }

[[ $DURATION =~ ^[0-9]+$ ]] && ((DURATION >= 1 && DURATION <= 300)) || die "DURATION must be 1..300 seconds"
[[ $ROUNDS =~ ^[0-9]+$ ]] && ((ROUNDS >= 1 && ROUNDS <= 10)) || die "ROUNDS must be 1..10"
[[ $CLIENTS =~ ^[0-9]+$ ]] && ((CLIENTS >= 2 && CLIENTS <= 512)) || die "CLIENTS must be 2..512"
for tool in wrk curl cmake psql openssl; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found (./deploy/dev.sh run installs it)"
done
(exec 3<>"/dev/tcp/127.0.0.1/$CUPD_PORT") 2>/dev/null && die "port $CUPD_PORT is in use; set CUPD_PORT"

# ---------------------------------------------------------------- build
if [[ ! -f $BUILD/CMakeCache.txt ]]; then
	cmake -S "$ROOT" -B "$BUILD" >/dev/null
fi
cmake --build "$BUILD" -j"$(nproc)" --target cupd bench_refresh_verify >/dev/null

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

"$PG_SH" init "$PGDIR" --durable >/dev/null
"$PG_SH" start "$PGDIR" >/dev/null
DATABASE_URL=$("$PG_SH" url "$PGDIR")
export DATABASE_URL
sql() { psql -X -At -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -c "$1"; }
[[ $(sql "SHOW fsync")/$(sql "SHOW synchronous_commit") == on/on ]] || die "the cluster is not durable"

export CUPD_KEY_ENCRYPTION_KEY=$(openssl rand -hex 32)
export CUPD_PUBLIC_URL="http://127.0.0.1:$CUPD_PORT"
"$BUILD/cupd" migrate >/dev/null
"$BUILD/cupd" org add --slug bench --name Bench >/dev/null 2>&1
echo "bench password 123456" | "$BUILD/cupd" user add --email bench@example.com --org bench --role owner \
	>/dev/null 2>&1

# Access log on, to a file, as under a supervisor (the other benches do the same).
env CUPD_LISTEN="127.0.0.1:$CUPD_PORT" CUPD_WORKERS="$WORKERS" CUPD_ACCESS_LOG=on \
	"$BUILD/cupd" serve >"$WORK/cupd.out" 2>"$WORK/cupd.err" &
CUPD_PID=$!
for ((i = 0; i < 150; i++)); do
	curl -fsS -o /dev/null "http://127.0.0.1:$CUPD_PORT/healthz" 2>/dev/null && break
	kill -0 "$CUPD_PID" 2>/dev/null || { cat "$WORK/cupd.err" >&2; die "cupd exited"; }
	sleep 0.1
done

CLIENT_ID=$(curl -fsS -X POST -H 'Content-Type: application/json' \
	-d '{"client_name":"refresh bench","redirect_uris":["http://localhost/cb"],"token_endpoint_auth_method":"none"}' \
	"http://127.0.0.1:$CUPD_PORT/oauth/register" | sed -n 's/.*"client_id":"\([^"]*\)".*/\1/p')
[[ $CLIENT_ID == cupc_* ]] || die "registration failed"
RESOURCE="$CUPD_PUBLIC_URL/mcp"
RESOURCE_ENC=$(printf '%s' "$RESOURCE" | sed 's/:/%3A/g; s#/#%2F#g')

# CLIENTS + THREADS fresh grants (one spare token per wrk thread, see
# refresh_bench.lua), each with one live refresh token as a code exchange
# leaves them; prints the tokens.
seed() {
	sql "WITH g AS (INSERT INTO oauth_grants (org_id, user_id, client_pk, scope, resource, expires_at)
	       SELECT o.id, u.id, c.id, 'read write', '$RESOURCE', now() + interval '90 days'
	         FROM orgs o, users u, oauth_clients c, generate_series(1, $((CLIENTS + THREADS)))
	        WHERE o.slug = 'bench' AND u.email = 'bench@example.com' AND c.client_id = '$CLIENT_ID'
	       RETURNING id),
	     t AS (SELECT id AS gid, 'cupr_' || replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '') AS tok
	             FROM g),
	     i AS (INSERT INTO oauth_refresh_tokens (token_hash, grant_id, idle_expires_at)
	           SELECT sha256(convert_to(tok, 'UTF8')), gid, now() + interval '30 days' FROM t)
	     SELECT tok FROM t"
}

# CPU ticks (user + system) of cupd, of the cluster's server processes, and of wrk.
ticks_of() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
PGMASTER=$(head -1 "$PGDIR/data/postmaster.pid")
pg_ticks() {
	local sum=0 p
	for p in $PGMASTER $(pgrep -P "$PGMASTER"); do sum=$((sum + $(ticks_of "$p"))); done
	echo "$sum"
}
HZ=$(getconf CLK_TCK)

run() { # $1 = duration; prints wrk's RESULT line
	local tokens=$WORK/tokens
	seed >"$tokens"
	[[ $(wc -l <"$tokens") -eq $((CLIENTS + THREADS)) ]] || die "seeding failed"
	REFRESH_TOKENS=$tokens REFRESH_CLIENT_ID=$CLIENT_ID REFRESH_RESOURCE=$RESOURCE_ENC REFRESH_THREADS=$THREADS \
		wrk -t"$THREADS" -c"$CLIENTS" -d"${1}s" --latency -s "$ROOT/tests/bench/refresh_bench.lua" \
		"http://127.0.0.1:$CUPD_PORT" >"$WORK/wrk.out" 2>&1 &
	local wrk_pid=$!
	wait "$wrk_pid" || { cat "$WORK/wrk.out" >&2; die "wrk failed"; }
	grep '^RESULT' "$WORK/wrk.out" || { cat "$WORK/wrk.out" >&2; die "no result"; }
}

run 3 >/dev/null # warm-up: prepared statements, connections, the work pool

best="" best_rate=0
for ((r = 1; r <= ROUNDS; r++)); do
	if [[ ${PROFILE:-} && $r -eq $ROUNDS ]]; then
		perf record -F 999 -g -p "$CUPD_PID" -o "$WORK/perf.data" -- sleep "$DURATION" >/dev/null 2>&1 &
		PERF_PID=$!
	fi
	c0=$(ticks_of "$CUPD_PID") p0=$(pg_ticks)
	w0=$(awk '{ print $16 + $17 }' /proc/$$/stat) # reaped children: wrk (and the seeding psql)
	line=$(run "$DURATION")
	c1=$(ticks_of "$CUPD_PID") p1=$(pg_ticks)
	w1=$(awk '{ print $16 + $17 }' /proc/$$/stat)
	[[ ${PERF_PID:-} ]] && wait "$PERF_PID" 2>/dev/null || true
	eval "$(echo "$line" | sed 's/^RESULT //; s/ /\n/g' | sed 's/^/R_/')"
	((R_errors == 0 && R_sockerr == 0)) ||
		{ grep -m1 'first failure' "$WORK/wrk.out" >&2; die "run $r: $R_errors non-200 answers, $R_sockerr socket errors"; }
	cpu=$(awk -v c=$((c1 - c0)) -v p=$((p1 - p0)) -v w=$((w1 - w0)) -v n="$R_requests" -v hz="$HZ" \
		'BEGIN { printf "cupd %.3f s, postgres %.3f s, wrk %.3f s", c/hz*1000/n, p/hz*1000/n, w/hz*1000/n }')
	printf 'run %d: %8.0f refreshes/s  p50 %5.2f ms  p90 %5.2f ms  p99 %6.2f ms  max %6.2f ms  (%d requests)\n' \
		"$r" "$R_rate" "$R_p50_ms" "$R_p90_ms" "$R_p99_ms" "$R_max_ms" "$R_requests"
	printf '       CPU per 1,000 refreshes: %s\n' "$cpu"
	if awk -v a="$R_rate" -v b="$best_rate" 'BEGIN { exit !(a > b) }'; then
		best_rate=$R_rate best="$R_rate refreshes/s, p99 $R_p99_ms ms"
	fi
done

echo "refresh grants (durable commits, $CLIENTS clients, $WORKERS workers): best $best"
echo "targets: >= 3000 refreshes/s, p99 < 20 ms"
echo
"$BUILD/tests/bench/bench_refresh_verify" 3000

if [[ ${PROFILE:-} && -f $WORK/perf.data ]]; then
	echo
	echo "perf: top symbols of cupd during the last run (children excluded)"
	perf report -i "$WORK/perf.data" --no-children --sort dso,sym --stdio 2>/dev/null |
		grep -E '^ +[0-9]' | head -25
fi
