#!/usr/bin/env bash
# http_bench.sh: GET /healthz throughput of cupd against the bare stack.
#
# Starts bench_bare_server (one evhttp thread, no cupd code) and cupd serve
# (with a throwaway PostgreSQL from deploy/pg.sh and the access log on, since
# logging is part of what is measured), warms both up, then runs
#   wrk -t2 -c64 -d${DURATION}s --latency http://127.0.0.1:PORT/healthz
# against each, and prints requests/s, p99 latency and the ratio cupd/bare
# (target >= 0.9). Loopback only; every run is bounded in time; everything it
# started is stopped and removed on exit.
#
# Settings (environment):
#   DURATION=10        seconds per measured run (1..300)
#   ROUNDS=1           measured runs per server, alternating; best one counts
#   CUPD_WORKERS=2     cupd worker threads
#   BARE_PORT=18091    CUPD_PORT=18092
#   BUILD_DIR=build    where cupd and bench_bare_server are built
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BUILD=$ROOT/${BUILD_DIR:-build}
PG_SH=$ROOT/deploy/pg.sh
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-1}
WORKERS=${CUPD_WORKERS:-2}
BARE_PORT=${BARE_PORT:-18091}
CUPD_PORT=${CUPD_PORT:-18092}

die() { echo "http_bench.sh: $*" >&2; exit 1; }

if ! [[ $DURATION =~ ^[0-9]+$ ]] || ((DURATION < 1 || DURATION > 300)); then
	die "DURATION must be 1..300 seconds"
fi
if ! [[ $ROUNDS =~ ^[0-9]+$ ]] || ((ROUNDS < 1 || ROUNDS > 10)); then
	die "ROUNDS must be 1..10"
fi
for tool in wrk curl cmake; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found (./deploy/dev.sh run installs it)"
done

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$BARE_PORT" "$CUPD_PORT"; do
	! port_in_use "$p" || die "port $p is in use; set BARE_PORT / CUPD_PORT"
done

# ---------------------------------------------------------------- build
if [[ ! -f $BUILD/CMakeCache.txt ]]; then
	cmake -S "$ROOT" -B "$BUILD" >/dev/null
fi
cmake --build "$BUILD" -j"$(nproc)" --target cupd bench_bare_server >/dev/null

# ---------------------------------------------------------------- start
WORK=$(mktemp -d)
PGDIR=$(mktemp -d)
BARE_PID=""
CUPD_PID=""
cleanup() {
	local pid
	for pid in $CUPD_PID $BARE_PID; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $CUPD_PID $BARE_PID; do
		wait "$pid" 2>/dev/null || true
	done
	"$PG_SH" destroy "$PGDIR" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# Waits until GET /healthz on PORT answers 200, or fails after 15 s.
wait_ready() {
	local port=$1 name=$2 i
	for ((i = 0; i < 150; i++)); do
		curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "--- $name output:" >&2
	tail -n 20 "$WORK/$name.err" >&2 || true
	die "$name did not answer on port $port"
}

"$PG_SH" start "$PGDIR" >/dev/null
DATABASE_URL=$("$PG_SH" url "$PGDIR")

"$BUILD/tests/bench/bench_bare_server" "$BARE_PORT" 2>"$WORK/bare.err" &
BARE_PID=$!
# cupd's access log (stdout) goes to a file, as it would under a supervisor.
env DATABASE_URL="$DATABASE_URL" CUPD_LISTEN="127.0.0.1:$CUPD_PORT" \
	CUPD_WORKERS="$WORKERS" CUPD_ACCESS_LOG=on \
	"$BUILD/cupd" serve >"$WORK/cupd.out" 2>"$WORK/cupd.err" &
CUPD_PID=$!
wait_ready "$BARE_PORT" bare
wait_ready "$CUPD_PORT" cupd

# ---------------------------------------------------------------- measure
run_wrk() { # run_wrk PORT SECONDS OUTFILE
	wrk -t2 -c64 -d"$2"s --latency "http://127.0.0.1:$1/healthz" >"$3" 2>&1
}
rps_of() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
p99_of() { awk '$1 == "99%" { print $2 }' "$1"; }
errors_of() { grep -E 'Non-2xx|Socket errors' "$1" | sed 's/^ *//' | paste -sd ';' - || true; }

echo "warming up (2 s each)..."
run_wrk "$BARE_PORT" 2 "$WORK/warm"
run_wrk "$CUPD_PORT" 2 "$WORK/warm"

best_bare=0 best_cupd=0 p99_bare="" p99_cupd="" err_bare="" err_cupd=""
for ((r = 1; r <= ROUNDS; r++)); do
	for name in bare cupd; do
		port=$BARE_PORT
		[[ $name == cupd ]] && port=$CUPD_PORT
		echo "round $r/$ROUNDS: $name, ${DURATION}s..."
		out=$WORK/$name.$r
		run_wrk "$port" "$DURATION" "$out"
		rps=$(rps_of "$out")
		[[ -n $rps ]] || { cat "$out" >&2; die "no result from wrk against $name"; }
		if [[ $name == bare ]] && awk -v a="$rps" -v b="$best_bare" 'BEGIN { exit !(a > b) }'; then
			best_bare=$rps p99_bare=$(p99_of "$out") err_bare=$(errors_of "$out")
		elif [[ $name == cupd ]] && awk -v a="$rps" -v b="$best_cupd" 'BEGIN { exit !(a > b) }'; then
			best_cupd=$rps p99_cupd=$(p99_of "$out") err_cupd=$(errors_of "$out")
		fi
	done
done

log_lines=$(wc -l <"$WORK/cupd.out")
ratio=$(awk -v a="$best_cupd" -v b="$best_bare" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.9 ? "meets" : "below") }')

echo
echo "GET /healthz, wrk -t2 -c64 -d${DURATION}s, 127.0.0.1, best of $ROUNDS"
echo "(wrk shares the machine's $(nproc) cores with the server: compare the two, do not read capacity)"
printf '  %-40s %12s %10s\n' server "requests/s" p99
printf '  %-40s %12s %10s\n' "bare evhttp (1 thread)" "$best_bare" "$p99_bare"
printf '  %-40s %12s %10s\n' "cupd ($WORKERS workers, access log on)" "$best_cupd" "$p99_cupd"
echo "  ratio cupd/bare: $ratio ($verdict the 0.9 target)"
echo "  cupd wrote $log_lines access-log lines"
[[ -z $err_bare ]] || echo "  bare errors: $err_bare"
[[ -z $err_cupd ]] || echo "  cupd errors: $err_cupd"
