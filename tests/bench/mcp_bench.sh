#!/usr/bin/env bash
# mcp_bench.sh: authenticated MCP tools/call of whoami on cupd, beside
# (a) GET /healthz on the same cupd and (b) a minimal server on the official
# MCP TypeScript SDK (tests/bench/ts_mcp_server: McpServer +
# StreamableHTTPServerTransport, stateless, bearer check with jose on an
# HS256 test secret) serving the same tool. Issue 5 targets on the 2-core
# machine: MCP whoami >= 0.5 x /healthz, >= 15 x the TypeScript server,
# p99 <= 5 ms, cupd peak RSS <= 32 MiB.
#
# What one cupd request does: API Token from the credential cache, the
# session from the per-process session cache, then whoami's one query
# (api_account_get; nothing of it is cached, so a role change shows at once).
#
# Starts a throwaway PostgreSQL (deploy/pg.sh), cupd serve with the per-token
# rate limit lifted (CUPD_RATE_API_TOKEN_PER_MIN=10000000), mints a read API
# Token with the real CLI, initializes one MCP session, then runs
#   wrk -t2 -c64 -d${DURATION}s --latency
# with a Lua script that POSTs the JSON-RPC body with the session headers.
# The TypeScript server's packages are installed into its folder at bench
# time (npm install; node_modules is ignored by git). Prints requests/s,
# p99 and peak RSS (VmHWM of the server process) for each, and whether each
# target is met. Any non-2xx answer, socket error or failed tool call in a
# sampled answer from cupd fails the run (the TypeScript server's own
# timeouts under load are printed, not fatal).
# Not a ctest test; bounded in time; everything it starts is stopped and
# removed on exit.
#
# Settings (environment):
#   DURATION=10        seconds per measured run (1..300)
#   ROUNDS=1           measured runs per target, alternating; best one counts
#   CUPD_WORKERS=2     cupd worker threads
#   CUPD_PORT=18096    TS_PORT=18097    BUILD_DIR=build (relative or absolute)
#   SKIP_TS=1          leave out the TypeScript server (no npm needed)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BUILD=${BUILD_DIR:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
PG_SH=$ROOT/deploy/pg.sh
TS_DIR=$ROOT/tests/bench/ts_mcp_server
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-1}
WORKERS=${CUPD_WORKERS:-2}
CUPD_PORT=${CUPD_PORT:-18096}
TS_PORT=${TS_PORT:-18097}
SKIP_TS=${SKIP_TS:-0}

die() { echo "mcp_bench.sh: $*" >&2; exit 1; }

[[ $DURATION =~ ^[0-9]+$ ]] && ((DURATION >= 1 && DURATION <= 300)) || die "DURATION must be 1..300 seconds"
[[ $ROUNDS =~ ^[0-9]+$ ]] && ((ROUNDS >= 1 && ROUNDS <= 10)) || die "ROUNDS must be 1..10"
for tool in wrk curl cmake; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found (./deploy/dev.sh run installs it)"
done
[[ $SKIP_TS == 1 ]] || for tool in node npm; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found (or set SKIP_TS=1)"
done
for p in "$CUPD_PORT" "$TS_PORT"; do
	(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && die "port $p is in use; set CUPD_PORT / TS_PORT"
done

# ---------------------------------------------------------------- build
if [[ ! -f $BUILD/CMakeCache.txt ]]; then
	cmake -S "$ROOT" -B "$BUILD" >/dev/null
fi
cmake --build "$BUILD" -j"$(nproc)" --target cupd >/dev/null
if [[ $SKIP_TS != 1 ]]; then
	echo "installing the TypeScript server's packages (npm install in tests/bench/ts_mcp_server)..."
	(cd "$TS_DIR" && timeout 600 npm install --no-save --no-audit --no-fund --loglevel=error >/dev/null) ||
		die "npm install failed in $TS_DIR"
fi

# ---------------------------------------------------------------- start
WORK=$(mktemp -d)
PGDIR=$(mktemp -d)
CUPD_PID="" TS_PID=""
cleanup() {
	for pid in $CUPD_PID $TS_PID; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
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
TOKEN=$("$BUILD/cupd" token create --org demo --user demo@example.com --name mcp-bench --scopes read 2>/dev/null)
[[ $TOKEN == cup_api_* ]] || die "could not create an API Token"

# Access log on, to a file, as under a supervisor (like http_bench.sh and auth_bench.sh).
env CUPD_LISTEN="127.0.0.1:$CUPD_PORT" CUPD_WORKERS="$WORKERS" CUPD_ACCESS_LOG=on \
	CUPD_RATE_API_TOKEN_PER_MIN=10000000 \
	"$BUILD/cupd" serve >"$WORK/cupd.out" 2>"$WORK/cupd.err" &
CUPD_PID=$!
wait_http() { # wait_http URL PID NAME
	for ((i = 0; i < 150; i++)); do
		curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || die "$3 exited"
		sleep 0.1
	done
	die "$3 did not answer $1"
}
wait_http "http://127.0.0.1:$CUPD_PORT/healthz" "$CUPD_PID" cupd

# One MCP session: initialize, then notifications/initialized (as the SDK does).
MCP=http://127.0.0.1:$CUPD_PORT/mcp
code=$(curl -s -D "$WORK/init.h" -o "$WORK/init.json" -w '%{http_code}' -X POST "$MCP" \
	-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	-H 'Accept: application/json, text/event-stream' \
	-d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"mcp_bench","version":"1"}}}')
[[ $code == 200 ]] || die "initialize answered $code: $(cat "$WORK/init.json")"
SESSION=$(awk 'tolower($1) == "mcp-session-id:" { print $2 }' "$WORK/init.h" | tr -d '\r')
[[ ${#SESSION} -ge 43 ]] || die "no session id in the initialize answer"
mcp_headers=(-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json'
	-H 'Accept: application/json, text/event-stream' -H "Mcp-Session-Id: $SESSION"
	-H 'MCP-Protocol-Version: 2025-11-25')
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$MCP" "${mcp_headers[@]}" \
	-d '{"jsonrpc":"2.0","method":"notifications/initialized"}')
[[ $code == 202 ]] || die "notifications/initialized answered $code"
CALL='{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"whoami","arguments":{}}}'
curl -s -o "$WORK/whoami.json" -X POST "$MCP" "${mcp_headers[@]}" -d "$CALL"
grep -q '"structuredContent"' "$WORK/whoami.json" || die "whoami over MCP failed: $(cat "$WORK/whoami.json")"

# The TypeScript server, its HS256 test secret and a token for it.
if [[ $SKIP_TS != 1 ]]; then
	BENCH_JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n=+/')
	export BENCH_JWT_SECRET
	(cd "$TS_DIR" && PORT=$TS_PORT exec node server.mjs >"$WORK/ts.out" 2>"$WORK/ts.err") &
	TS_PID=$!
	wait_http "http://127.0.0.1:$TS_PORT/healthz" "$TS_PID" "the TypeScript server"
	TS_TOKEN=$(cd "$TS_DIR" && TS_PORT=$TS_PORT node --input-type=module -e "
		import { SignJWT } from 'jose';
		const key = new TextEncoder().encode(process.env.BENCH_JWT_SECRET);
		console.log(await new SignJWT({ scope: 'read', org: 'bench-org' }).setProtectedHeader({ alg: 'HS256' })
			.setSubject('bench-user').setIssuer('http://127.0.0.1')
			.setAudience('http://127.0.0.1:' + process.env.TS_PORT + '/mcp').setIssuedAt().setExpirationTime('2h')
			.sign(key));")
	curl -s -o "$WORK/ts_whoami.json" -X POST "http://127.0.0.1:$TS_PORT/mcp" -H "Authorization: Bearer $TS_TOKEN" \
		-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -d "$CALL"
	grep -q '"structuredContent"' "$WORK/ts_whoami.json" ||
		die "whoami on the TypeScript server failed: $(cat "$WORK/ts_whoami.json")"
fi

# ---------------------------------------------------------------- measure
# wrk script: POST the call with the given headers; every 512th answer of
# each thread is checked for a tool result (a fast error must not count:
# it prints BAD-ANSWER, which fails the run).
lua() { # lua FILE AUTH [SESSION]
	cat >"$1" <<EOF
wrk.method = "POST"
wrk.body = '$CALL'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Authorization"] = "Bearer $2"
local n, told = 0, false
function response(status, headers, body)
	n = n + 1
	if n % 512 == 1 and not told and not string.find(body, '"structuredContent"', 1, true) then
		told = true
		io.write("BAD-ANSWER " .. string.sub(body, 1, 200) .. "\n")
	end
end
EOF
	if [[ -n ${3:-} ]]; then
		printf 'wrk.headers["Mcp-Session-Id"] = "%s"\nwrk.headers["MCP-Protocol-Version"] = "2025-11-25"\n' "$3" >>"$1"
	fi
}
lua "$WORK/mcp.lua" "$TOKEN" "$SESSION"
[[ $SKIP_TS == 1 ]] || lua "$WORK/ts.lua" "$TS_TOKEN"

run_wrk() { # run_wrk TARGET SECONDS OUTFILE
	case $1 in
	healthz) wrk -t2 -c64 -d"$2"s --latency "http://127.0.0.1:$CUPD_PORT/healthz" >"$3" 2>&1 ;;
	mcp) wrk -t2 -c64 -d"$2"s --latency -s "$WORK/mcp.lua" "$MCP" >"$3" 2>&1 ;;
	ts) wrk -t2 -c64 -d"$2"s --latency -s "$WORK/ts.lua" "http://127.0.0.1:$TS_PORT/mcp" >"$3" 2>&1 ;;
	esac
}
rps_of() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
p99_of() { awk '$1 == "99%" { print $2 }' "$1"; }
errors_of() { grep -E 'Non-2xx|Socket errors|BAD-ANSWER' "$1" | sed 's/^ *//' | paste -sd ';' - || true; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
ms_of() { # wrk latency text (850.00us, 1.23ms, 2.00s) -> milliseconds
	awk -v v="$1" 'BEGIN { u = v; sub(/^[0-9.]+/, "", u); x = v + 0;
		if (u == "us") x /= 1000; else if (u == "s") x *= 1000; else if (u == "m") x *= 60000; printf "%.2f", x }'
}

targets=(healthz mcp)
[[ $SKIP_TS == 1 ]] || targets+=(ts)
echo "warming up (2 s each)..."
for t in "${targets[@]}"; do run_wrk "$t" 2 "$WORK/warm.$t"; done

declare -A best p99 rss
errors="" ts_notes=""
for t in "${targets[@]}"; do best[$t]=0; p99[$t]=""; done
for ((r = 1; r <= ROUNDS; r++)); do
	for t in "${targets[@]}"; do
		echo "round $r/$ROUNDS: $t, ${DURATION}s..."
		out=$WORK/$t.$r
		run_wrk "$t" "$DURATION" "$out"
		rps=$(rps_of "$out")
		[[ -n $rps ]] || { cat "$out" >&2; die "no result from wrk against $t"; }
		e=$(errors_of "$out")
		if [[ -n $e && $t == ts ]]; then
			ts_notes+="round $r: $e. " # the baseline's own timeouts under load are data, not a failure
		elif [[ -n $e ]]; then
			errors+="$t round $r: $e. "
		fi
		if awk -v a="$rps" -v b="${best[$t]}" 'BEGIN { exit !(a > b) }'; then
			best[$t]=$rps p99[$t]=$(p99_of "$out")
		fi
		[[ $t == ts ]] && rss[ts]=$(hwm_kib "$TS_PID") || rss[$t]=$(hwm_kib "$CUPD_PID")
	done
done
# The same call must still answer correctly after the load.
curl -s -o "$WORK/after.json" -X POST "$MCP" "${mcp_headers[@]}" -d "$CALL"
grep -q '"structuredContent"' "$WORK/after.json" || die "whoami failed after the load: $(cat "$WORK/after.json")"

mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

echo
echo "wrk -t2 -c64 -d${DURATION}s, 127.0.0.1, cupd $WORKERS workers with the access log on, best of $ROUNDS"
echo "(wrk shares the machine's $(nproc) cores with the servers: compare them, do not read capacity)"
printf '  %-52s %12s %10s %12s\n' target "requests/s" p99 "peak RSS"
printf '  %-52s %12s %10s %12s\n' "cupd GET /healthz" "${best[healthz]}" "${p99[healthz]}" "$(mib "${rss[healthz]}")"
printf '  %-52s %12s %10s %12s\n' "cupd POST /mcp tools/call whoami (API Token)" "${best[mcp]}" "${p99[mcp]}" \
	"$(mib "${rss[mcp]}")"
[[ $SKIP_TS == 1 ]] ||
	printf '  %-52s %12s %10s %12s\n' "TypeScript SDK server, tools/call whoami (jose JWT)" "${best[ts]}" "${p99[ts]}" \
		"$(mib "${rss[ts]}")"
echo "  (cupd's peak RSS is the process high-water mark after that run: both rows share one process)"
echo
check() { # check NAME OK
	printf '  %-58s %s\n' "$1" "$([[ $2 == 1 ]] && echo meets || echo BELOW)"
}
r_h=$(ratio "${best[mcp]}" "${best[healthz]}")
check "MCP whoami / healthz = $r_h (target >= 0.5)" "$(awk -v r="$r_h" 'BEGIN { print (r >= 0.5) }')"
if [[ $SKIP_TS != 1 ]]; then
	r_t=$(ratio "${best[mcp]}" "${best[ts]}")
	check "MCP whoami / TypeScript server = $r_t (target >= 15)" "$(awk -v r="$r_t" 'BEGIN { print (r >= 15) }')"
fi
p=$(ms_of "${p99[mcp]}")
check "MCP whoami p99 = ${p} ms (target <= 5 ms)" "$(awk -v p="$p" 'BEGIN { print (p <= 5) }')"
check "cupd peak RSS = $(mib "${rss[mcp]}") (target <= 32 MiB)" "$(awk -v k="${rss[mcp]}" 'BEGIN { print (k <= 32768) }')"
[[ -z $ts_notes ]] || echo "  TypeScript server under load: $ts_notes"
[[ -z $errors ]] || die "non-2xx answers or socket errors from cupd: $errors"
echo "  cupd: no non-2xx answers, no socket errors"
