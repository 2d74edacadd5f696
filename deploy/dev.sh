#!/usr/bin/env bash
# dev.sh: the two commands of cupd on a Debian 12 machine.
#
#   ./deploy/dev.sh run    install what is missing, build, start a private
#                          PostgreSQL under ./var/pg (unless DATABASE_URL is
#                          set), migrate, seed the demo org, serve on
#                          http://127.0.0.1:8080 until Ctrl-C
#   ./deploy/dev.sh test   install what is missing, then build and run every
#                          test: build/ (warnings are errors), build-asan/
#                          (ASan+UBSan), build-fuzz/ (clang libFuzzer)
#
# Needs root or a user with sudo only when Debian packages are missing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PG_SH=$ROOT/deploy/pg.sh
JOBS=$(nproc 2>/dev/null || echo 2)

if [[ -t 2 ]]; then
	say() { printf '\033[1mdev.sh:\033[0m %s\n' "$*" >&2; }
else
	say() { printf 'dev.sh: %s\n' "$*" >&2; }
fi
die() { say "error: $*"; exit 1; }

usage() {
	sed -n '4,10p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# ---------------------------------------------------------------- packages

# Installs the Debian packages among "$@" that are not installed yet. apt-get
# is not called at all when nothing is missing, so a prepared machine (or CI
# on one) neither needs the network nor root.
install_missing() {
	local missing=() p
	for p in "$@"; do
		if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) != installed ]]; then
			missing+=("$p")
		fi
	done
	((${#missing[@]})) || return 0

	local sudo=()
	if [[ $EUID -ne 0 ]]; then
		command -v sudo >/dev/null 2>&1 ||
			die "missing packages (${missing[*]}); run as root or install sudo"
		sudo=(sudo)
	fi
	say "installing missing packages: ${missing[*]}"
	"${sudo[@]}" apt-get update -q
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Everything both commands need; chromium only for the browser tests.
deps() {
	local pkgs=(build-essential cmake pkg-config libevent-dev libjansson-dev libjwt-dev
		libssl-dev libpq-dev postgresql-15 libcmocka-dev libargon2-dev clang
		libclang-rt-14-dev wrk curl openssl ca-certificates acl)
	# A Node.js from elsewhere (nvm, a vendor package) is fine: only add
	# Debian's when there is no node at all.
	command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm)
	[[ $1 == test ]] && pkgs+=(chromium)
	install_missing "${pkgs[@]}"
}

# Configures and builds one build directory: build DIR [cmake args...]
build() {
	local dir=$1
	shift
	cmake -S "$ROOT" -B "$ROOT/$dir" "$@" >/dev/null
	cmake --build "$ROOT/$dir" -j"$JOBS"
}

# ---------------------------------------------------------------- run

cmd_run() {
	deps run
	say "building into build/"
	build build

	STARTED_PG="" # global: the EXIT trap runs after this function returned
	cleanup() {
		if [[ -n $STARTED_PG ]]; then
			say "stopping the private PostgreSQL in var/pg"
			"$PG_SH" stop "$ROOT/var/pg" || true
		fi
	}
	trap cleanup EXIT
	# Until cupd runs, a signal just ends the script (through the EXIT trap).
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP

	mkdir -p "$ROOT/var"
	if [[ -z ${DATABASE_URL:-} ]]; then
		# Persistent: fsync stays on, data survives restarts and crashes.
		if ! "$PG_SH" status "$ROOT/var/pg" >/dev/null; then
			[[ -d $ROOT/var/pg/data ]] || say "creating a private PostgreSQL cluster in var/pg"
			"$PG_SH" init "$ROOT/var/pg" --durable
			"$PG_SH" start "$ROOT/var/pg"
			STARTED_PG=1
		else
			say "var/pg is already running (another dev.sh?); leaving it running on exit"
		fi
		DATABASE_URL=$("$PG_SH" url "$ROOT/var/pg")
		export DATABASE_URL
		say "PostgreSQL: $DATABASE_URL"
		# The key that encrypts OAuth signing keys at rest in this cluster:
		# made once, kept beside it (losing it makes those keys unreadable).
		if [[ -z ${CUPD_KEY_ENCRYPTION_KEY:-} ]]; then
			local kek=$ROOT/var/key-encryption-key
			if [[ ! -s $kek ]]; then
				say "creating var/key-encryption-key (CUPD_KEY_ENCRYPTION_KEY for the dev cluster)"
				(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$kek")
			fi
			CUPD_KEY_ENCRYPTION_KEY=$(<"$kek")
			export CUPD_KEY_ENCRYPTION_KEY
		fi
	else
		say "using DATABASE_URL from the environment; no private cluster"
	fi

	# Claude's and Claude Code's client metadata documents, pinned because
	# their host may refuse fetches from data centres (REQUIREMENTS B28).
	: "${CUPD_CIMD_PINNED_FILE:=$ROOT/deploy/cimd-pinned.json}"
	export CUPD_CIMD_PINNED_FILE

	build/cupd migrate
	build/cupd seed-demo --password-file "$ROOT/var/demo-password"

	# cupd runs as a child (not exec) so that the cluster can be stopped after
	# it exits. Ctrl-C reaches cupd directly through the terminal; SIGTERM sent
	# to this script is passed on. Either way cupd drains and exits, then the
	# EXIT trap stops the cluster. (A second signal to cupd is harmless.)
	local serve_pid rc
	say "serving on http://${CUPD_LISTEN:-127.0.0.1:8080} (Ctrl-C to stop)"
	build/cupd serve &
	serve_pid=$!
	trap 'kill -INT "$serve_pid" 2>/dev/null || true' INT
	trap 'kill -TERM "$serve_pid" 2>/dev/null || true' TERM HUP
	while :; do
		rc=0
		wait "$serve_pid" || rc=$?
		# wait also returns when a trapped signal arrives: keep waiting
		# until cupd itself has exited.
		kill -0 "$serve_pid" 2>/dev/null || break
	done
	trap - INT TERM HUP
	return "$rc"
}

# ---------------------------------------------------------------- test

STEPS=()        # "name: ok|FAILED|skipped (...)" in order
FAILED_STEPS=0
TESTS_PASSED=0
TESTS_FAILED=0

step_result() { # step_result NAME STATUS [NOTE]
	STEPS+=("$(printf '%-22s %s' "$1" "$2${3:+ ($3)}")")
	[[ $2 == FAILED ]] && FAILED_STEPS=$((FAILED_STEPS + 1))
	return 0
}

# Runs ctest in DIR with extra args, and adds its counts to the totals.
run_ctest() {
	local name=$1 dir=$2 log rc=0 line total failed
	shift 2
	log=$(mktemp)
	(cd "$ROOT/$dir" && ctest --output-on-failure -j2 "$@") 2>&1 | tee "$log" || rc=$?
	line=$(grep -Eo '[0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
	rm -f "$log"
	if [[ -n $line ]]; then
		failed=${line%% *}
		total=${line##* }
		TESTS_PASSED=$((TESTS_PASSED + total - failed))
		TESTS_FAILED=$((TESTS_FAILED + failed))
		line="$((total - failed))/$total passed"
	fi
	if ((rc == 0)); then
		step_result "$name" ok "$line"
	else
		step_result "$name" FAILED "$line"
	fi
}

# Stops and removes any cluster a test left behind in our scratch TMPDIR.
sweep_clusters() {
	local ver
	[[ -n ${SCRATCH:-} && -d $SCRATCH ]] || return 0
	while IFS= read -r ver; do
		local dir=${ver%/data/PG_VERSION}
		if [[ -f $dir/data/postmaster.pid ]]; then
			say "a test left a PostgreSQL running in $dir; stopping it"
		fi
		"$PG_SH" destroy "$dir" >/dev/null 2>&1 || true
	done < <(find "$SCRATCH" -path '*/data/PG_VERSION' 2>/dev/null)
	rm -rf "$SCRATCH"
}

cmd_test() {
	local t0=$SECONDS
	deps test

	# Throwaway locations: every temporary file and test cluster lands in one
	# scratch dir, removed (clusters stopped) at the end. 0755 so that the
	# postgres user, which runs the test clusters when we are root, can
	# traverse it.
	SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/cupd-test.XXXXXX")
	chmod 0755 "$SCRATCH"
	trap sweep_clusters EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	export TMPDIR=$SCRATCH
	export CUPD_PG_SH=$PG_SH
	export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
	# Browsers come from Debian (chromium); never let an npm package download one.
	export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

	# 1. The normal build, warnings are errors.
	say "build/: configure and build (-DCUPD_WERROR=ON)"
	local built=ok
	if build build -DCUPD_WERROR=ON; then
		step_result "build" ok
	else
		step_result "build" FAILED
		built=""
	fi

	# 2. Packages of the end-to-end tests, before any ctest needs them.
	if [[ -f tests/e2e/package.json ]]; then
		say "tests/e2e: installing npm packages"
		local npm_cmd=(npm install --no-save)
		[[ -f tests/e2e/package-lock.json ]] && npm_cmd=(npm ci)
		if (cd tests/e2e && timeout 900 "${npm_cmd[@]}"); then
			step_result "npm (tests/e2e)" ok
		else
			step_result "npm (tests/e2e)" FAILED
		fi
	fi

	if [[ -n $built ]]; then
		say "build/: ctest (all labels)"
		run_ctest "ctest build/" build
	else
		step_result "ctest build/" skipped "build failed"
	fi

	# 3. ASan + UBSan: unit and integration tests.
	say "build-asan/: configure and build (-DCUPD_SANITIZE=ON)"
	if build build-asan -DCUPD_WERROR=ON -DCUPD_SANITIZE=ON; then
		step_result "build-asan" ok
		say "build-asan/: ctest -L 'unit|integration'"
		run_ctest "ctest build-asan/" build-asan -L 'unit|integration'
	else
		step_result "build-asan" FAILED
	fi

	# 4. libFuzzer targets (clang), each run for a bounded time by ctest.
	if [[ -f tests/fuzz/CMakeLists.txt ]]; then
		say "build-fuzz/: configure and build (CC=clang -DCUPD_FUZZ=ON)"
		if CC=clang build build-fuzz -DCUPD_WERROR=ON -DCUPD_FUZZ=ON; then
			step_result "build-fuzz" ok
			if (cd build-fuzz && ctest -N -L fuzz) | grep -Eq 'Total Tests: [1-9]'; then
				say "build-fuzz/: ctest -L fuzz"
				run_ctest "ctest build-fuzz/" build-fuzz -L fuzz
			else
				step_result "ctest build-fuzz/" skipped "no fuzz tests defined yet"
			fi
		else
			step_result "build-fuzz" FAILED
		fi
	else
		step_result "build-fuzz" skipped "no tests/fuzz/CMakeLists.txt"
	fi

	echo
	echo "==== dev.sh test: summary ($((SECONDS - t0)) s) ===="
	printf '  %s\n' "${STEPS[@]}"
	((FAILED_STEPS == 0)) || echo "  $FAILED_STEPS step(s) FAILED"
	echo "tests: $TESTS_PASSED passed, $TESTS_FAILED failed"
	((FAILED_STEPS == 0 && TESTS_FAILED == 0))
}

case ${1:-} in
run) cmd_run ;;
test) cmd_test ;;
*) usage ;;
esac
