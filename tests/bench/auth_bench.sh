#!/usr/bin/env bash
# auth_bench.sh: authenticated GET /api/v1/whoami against GET /healthz on
# the same cupd, in the same run.
#
# A valid API Token is checked from the in-memory credential cache (a hash
# and a lookup, no database round trip), so whoami should keep at least half
# the request rate of /healthz (issue 3: ratio >= 0.5). Starts a throwaway
# PostgreSQL (deploy/pg.sh) and cupd serve with the per-token rate limit
# lifted (CUPD_RATE_API_TOKEN_PER_MIN=10000000) so the limiter never answers
# 429, mints a token with the real CLI, warms both routes up, then runs
#   wrk -t2 -c64 -d${DURATION}s --latency
# against each route, alternating, ROUNDS times, and prints the best
# requests/s of each, p99 and the ratio. Any non-2xx answer or socket error
# is reported and makes the script fail: a fast 401 or 429 must not pass
# for a fast whoami. Not a ctest test; bounded in time; everything it starts
# is stopped and removed on exit.
#
# Settings (environment):
#   DURATION=10        seconds per measured run (1..300)
#   ROUNDS=1           measured runs per route, alternating; best one counts
#   CUPD_WORKERS=2     cupd worker threads
#   CUPD_PORT=18095    BUILD_DIR=build (relative to the repository, or absolute)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BUILD=${BUILD_DIR:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
PG_SH=$ROOT/deploy/pg.sh
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-1}
WORKERS=${CUPD_WORKERS:-2}
CUPD_PORT=${CUPD_PORT:-18095}

die() { echo "auth_bench.sh: $*" >&2; exit 1; }

[[ $DURATION =~ ^[0-9]+$ ]] && ((DURATION >= 1 && DURATION <= 300)) || die "DURATION must be 1..300 seconds"
[[ $ROUNDS =~ ^[0-9]+$ ]] && ((ROUNDS >= 1 && ROUNDS <= 10)) || die "ROUNDS must be 1..10"
for tool in wrk curl cmake; do
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

"$PG_SH" start "$PGDIR" >/dev/null
DATABASE_URL=$("$PG_SH" url "$PGDIR")
export DATABASE_URL
"$BUILD/cupd" migrate >/dev/null
"$BUILD/cupd" seed-demo --password-file "$WORK/demo-password" >/dev/null 2>&1
TOKEN=$("$BUILD/cupd" token create --org demo --user demo@example.com --name auth-bench --scopes read 2>/dev/null)
[[ $TOKEN == cup_api_* ]] || die "could not create an API Token"

# Access log on, to a file, as under a supervisor (http_bench.sh does the same).
env CUPD_LISTEN="127.0.0.1:$CUPD_PORT" CUPD_WORKERS="$WORKERS" CUPD_ACCESS_LOG=on \
	CUPD_RATE_API_TOKEN_PER_MIN=10000000 \
	"$BUILD/cupd" serve >"$WORK/cupd.out" 2>"$WORK/cupd.err" &
CUPD_PID=$!
for ((i = 0; i < 150; i++)); do
	curl -fsS -o /dev/null "http://127.0.0.1:$CUPD_PORT/healthz" 2>/dev/null && break
	kill -0 "$CUPD_PID" 2>/dev/null || { cat "$WORK/cupd.err" >&2; die "cupd exited"; }
	sleep 0.1
done
code=$(curl -s -o "$WORK/whoami.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	"http://127.0.0.1:$CUPD_PORT/api/v1/whoami")
[[ $code == 200 ]] || die "whoami answered $code: $(cat "$WORK/whoami.json")"

# ---------------------------------------------------------------- measure
run_wrk() { # run_wrk ROUTE SECONDS OUTFILE
	if [[ $1 == whoami ]]; then
		wrk -t2 -c64 -d"$2"s --latency -H "Authorization: Bearer $TOKEN" \
			"http://127.0.0.1:$CUPD_PORT/api/v1/whoami" >"$3" 2>&1
	else
		wrk -t2 -c64 -d"$2"s --latency "http://127.0.0.1:$CUPD_PORT/healthz" >"$3" 2>&1
	fi
}
rps_of() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
p99_of() { awk '$1 == "99%" { print $2 }' "$1"; }
errors_of() { grep -E 'Non-2xx|Socket errors' "$1" | sed 's/^ *//' | paste -sd ';' - || true; }

echo "warming up (2 s each)..."
run_wrk healthz 2 "$WORK/warm"
run_wrk whoami 2 "$WORK/warm"

best_h=0 best_w=0 p99_h="" p99_w="" errors=""
for ((r = 1; r <= ROUNDS; r++)); do
	for route in healthz whoami; do
		echo "round $r/$ROUNDS: $route, ${DURATION}s..."
		out=$WORK/$route.$r
		run_wrk "$route" "$DURATION" "$out"
		rps=$(rps_of "$out")
		[[ -n $rps ]] || { cat "$out" >&2; die "no result from wrk against $route"; }
		e=$(errors_of "$out")
		[[ -z $e ]] || errors+="$route round $r: $e. "
		if [[ $route == healthz ]] && awk -v a="$rps" -v b="$best_h" 'BEGIN { exit !(a > b) }'; then
			best_h=$rps p99_h=$(p99_of "$out")
		elif [[ $route == whoami ]] && awk -v a="$rps" -v b="$best_w" 'BEGIN { exit !(a > b) }'; then
			best_w=$rps p99_w=$(p99_of "$out")
		fi
	done
done

ratio=$(awk -v a="$best_w" -v b="$best_h" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.5 ? "meets" : "below") }')

echo
echo "wrk -t2 -c64 -d${DURATION}s, 127.0.0.1, cupd $WORKERS workers with the access log on, best of $ROUNDS"
echo "(wrk shares the machine's $(nproc) cores with the server: compare the two, do not read capacity)"
printf '  %-40s %12s %10s\n' route "requests/s" p99
printf '  %-40s %12s %10s\n' "GET /healthz" "$best_h" "$p99_h"
printf '  %-40s %12s %10s\n' "GET /api/v1/whoami (API Token)" "$best_w" "$p99_w"
echo "  ratio whoami/healthz: $ratio ($verdict the 0.5 target)"
[[ -z $errors ]] || die "non-2xx answers or socket errors: $errors"
echo "  no non-2xx answers, no socket errors"
