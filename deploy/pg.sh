#!/usr/bin/env bash
# pg.sh: private PostgreSQL clusters in a directory of your choice.
#
# Used by deploy/dev.sh (one persistent cluster under ./var/pg) and by the
# integration tests (throwaway clusters under temporary directories).
#
#   pg.sh init DIR [--durable]  initdb into DIR/data unless it exists
#                               (--durable: keep fsync on; remembered in DIR)
#   pg.sh start DIR [PORT]      start the server (runs init first if needed)
#                               and create the database "cupd" on first start
#   pg.sh stop DIR              fast shutdown; no-op when not running
#   pg.sh status DIR            "running" (exit 0) or "stopped" (exit 3)
#   pg.sh url DIR [DBNAME]      print a libpq conninfo for the cluster
#   pg.sh createdb DIR NAME     create database NAME in a running cluster
#   pg.sh destroy DIR           stop, then remove DIR and its socket dir
#
# The server never listens on TCP (listen_addresses=''): clients connect over
# a unix socket in DIR/run, or in /tmp/cupd-pg-<hash> when DIR is so deep that
# the socket path would exceed the 107-byte limit of sun_path. The port then
# only names the socket file, so clusters in different DIRs never collide.
#
# PostgreSQL refuses to run as root. As root, the server commands run as the
# "postgres" system user (or "cupd-pg", created when "postgres" is missing);
# as any other user they run directly.
set -euo pipefail

readonly DBNAME_DEFAULT=cupd
readonly DBUSER=app

die() { echo "pg.sh: $*" >&2; exit 1; }

usage() {
	sed -n '7,15p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# PostgreSQL's server binaries live outside PATH on Debian.
pg_bindir() {
	local d
	if command -v pg_config >/dev/null 2>&1 && d=$(pg_config --bindir 2>/dev/null) &&
		[[ -x $d/initdb ]]; then
		echo "$d"
		return
	fi
	for d in /usr/lib/postgresql/*/bin; do
		[[ -x $d/initdb ]] && { echo "$d"; return; }
	done
	die "PostgreSQL server binaries not found (install postgresql-15)"
}

# A lock shared by every pg.sh on the machine, for the few steps that change
# machine-wide state (creating a user, installing acl, changing ACLs).
global_lock() {
	exec 8>>"/tmp/cupd-pg.lock"
	flock 8
}
global_unlock() { exec 8>&-; }

# The unprivileged user that runs the server when we are root.
server_user() {
	if id -u postgres >/dev/null 2>&1; then
		echo postgres
		return
	fi
	if ! id -u cupd-pg >/dev/null 2>&1; then
		global_lock
		id -u cupd-pg >/dev/null 2>&1 ||
			useradd --system --user-group --no-create-home --home-dir /nonexistent \
				--shell /usr/sbin/nologin cupd-pg
		global_unlock
	fi
	echo cupd-pg
}

# Runs a server-side command (initdb, pg_ctl) as the server user. "cd /" keeps
# the tools from warning about a working directory they cannot read. The lock
# descriptors are closed: a postmaster that inherited one would hold the lock
# for as long as it runs.
as_server() {
	if [[ $EUID -eq 0 ]]; then
		(cd / && runuser -u "$SUSER" -- "$@") 8>&- 9>&-
	else
		(cd / && "$@") 8>&- 9>&-
	fi
}

# As root: the server user must be able to traverse every parent of DIR.
# Where it cannot (e.g. a checkout under a 0700 home), grant it search (x)
# permission on just those directories with an ACL, and say so.
ensure_traversable() {
	local dir=$1 p="" part
	runuser -u "$SUSER" -- test -x "$dir" 2>/dev/null && return 0
	IFS=/ read -r -a parts <<<"${dir#/}"
	for part in "${parts[@]}"; do
		p+="/$part"
		[[ $p == "$dir" ]] && break
		runuser -u "$SUSER" -- test -x "$p" 2>/dev/null && continue
		global_lock
		if ! command -v setfacl >/dev/null 2>&1; then
			echo "pg.sh: installing acl (for setfacl)" >&2
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q acl >/dev/null ||
				{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q acl >/dev/null; } ||
				die "could not install acl; make $p traversable for $SUSER (chmod o+x)"
		fi
		echo "pg.sh: granting $SUSER traverse-only permission on $p (setfacl -m u:$SUSER:x)" >&2
		setfacl -m "u:$SUSER:x" "$p"
		global_unlock
	done
}

# Fills SOCKDIR and PORT for cluster DIR: the stored values once started,
# otherwise the defaults (a port derived from DIR; DIR/run if short enough).
locate() {
	local hash
	hash=$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)
	PORT=${1:-}
	if [[ -z $PORT && -s $DIR/port ]]; then
		PORT=$(<"$DIR/port")
	fi
	: "${PORT:=$((5433 + hash % 1000))}"
	if ! [[ $PORT =~ ^[0-9]+$ ]] || ((PORT < 1 || PORT > 65535)); then
		die "bad port: $PORT"
	fi
	if [[ -s $DIR/sockdir ]]; then
		SOCKDIR=$(<"$DIR/sockdir")
	else
		SOCKDIR=$DIR/run
		# sun_path holds 108 bytes including the terminating NUL.
		if ((${#SOCKDIR} + ${#PORT} + 10 > 107)); then
			SOCKDIR=/tmp/cupd-pg-$(printf '%08x' "$hash")
		fi
	fi
}

# Serialises init/start/stop/destroy on one DIR.
dir_lock() {
	mkdir -p "$DIR"
	exec 9>>"$DIR/.lock"
	flock 9
}

is_running() {
	[[ -f $DIR/data/PG_VERSION ]] && as_server "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1
}

cmd_init() {
	local durable=${1:-}
	dir_lock
	if [[ $EUID -eq 0 ]]; then
		chown "$SUSER:" "$DIR"
		ensure_traversable "$DIR"
	fi
	[[ $durable == --durable ]] && touch "$DIR/durable"
	[[ -f $DIR/data/PG_VERSION ]] && return 0
	rm -rf "$DIR/data"
	local sync=(--no-sync)
	[[ -f $DIR/durable ]] && sync=()
	as_server "$BIN/initdb" -D "$DIR/data" -U "$DBUSER" -A trust -E UTF8 --locale=C \
		"${sync[@]}" >"$DIR/initdb.log" 2>&1 ||
		{ cat "$DIR/initdb.log" >&2; die "initdb failed for $DIR"; }
}

cmd_start() {
	local want_port=${1:-}
	[[ -f $DIR/data/PG_VERSION ]] || cmd_init
	dir_lock
	locate "$want_port"
	if is_running; then
		[[ -z $want_port || $want_port == "$(<"$DIR/port")" ]] ||
			echo "pg.sh: $DIR already running on port $(<"$DIR/port"); ignoring $want_port" >&2
		return 0
	fi
	if [[ $EUID -eq 0 ]]; then
		# A cluster made by another user (e.g. a non-root run of dev.sh).
		[[ $(stat -c %U "$DIR/data") == "$SUSER" ]] || chown -R "$SUSER:" "$DIR/data"
		chown "$SUSER:" "$DIR"
		ensure_traversable "$DIR"
	fi
	# The socket dir is private to the server user; root and the owner can
	# still connect. Recreate it: /tmp may have been cleaned since last time.
	if [[ ! -d $SOCKDIR ]]; then
		as_server mkdir -p -m 0700 "$SOCKDIR"
	fi
	echo "$PORT" >"$DIR/port"
	echo "$SOCKDIR" >"$DIR/sockdir"

	# pg_ctl hands these options to a shell, hence the inner quotes.
	local opts="-c listen_addresses='' -k '$SOCKDIR' -p $PORT"
	if [[ ! -f $DIR/durable ]]; then
		# Throwaway cluster: trade crash safety for speed.
		opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	fi
	# 9>&-: the postmaster must not inherit the DIR lock, or a later stop waits forever.
	if ! as_server "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/pg.log" -w -t 30 -o "$opts" start >/dev/null 9>&-; then
		tail -n 20 "$DIR/pg.log" >&2 || true
		die "could not start the cluster in $DIR"
	fi
	if [[ ! -f $DIR/.db-created ]]; then
		if [[ -z $("$BIN/psql" -X -At -h "$SOCKDIR" -p "$PORT" -U "$DBUSER" -d postgres \
			-c "SELECT 1 FROM pg_database WHERE datname = '$DBNAME_DEFAULT'") ]]; then
			"$BIN/createdb" -h "$SOCKDIR" -p "$PORT" -U "$DBUSER" "$DBNAME_DEFAULT"
		fi
		touch "$DIR/.db-created"
	fi
}

cmd_stop() {
	[[ -d $DIR ]] || return 0
	dir_lock
	is_running || return 0
	as_server "$BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >/dev/null
}

cmd_status() {
	if [[ -d $DIR ]] && is_running; then
		echo running
		return 0
	fi
	echo stopped
	return 3
}

cmd_url() {
	local db=${1:-$DBNAME_DEFAULT}
	locate
	echo "host=$SOCKDIR port=$PORT user=$DBUSER dbname=$db"
}

cmd_createdb() {
	local name=${1:?createdb needs a database name}
	locate
	is_running || die "$DIR is not running"
	"$BIN/createdb" -h "$SOCKDIR" -p "$PORT" -U "$DBUSER" "$name"
}

cmd_destroy() {
	[[ -d $DIR ]] || return 0
	cmd_stop
	locate
	# Only ever remove our own short socket dirs, never an arbitrary path.
	if [[ $SOCKDIR == /tmp/cupd-pg-* ]]; then
		rm -rf "$SOCKDIR"
	fi
	rm -rf "$DIR"
}

(($# >= 2)) || usage
sub=$1
[[ -n $2 ]] || usage
DIR=$(realpath -m -- "$2")
[[ $DIR != / ]] || die "refusing to use / as cluster directory"
[[ $DIR != *"'"* ]] || die "cluster directory must not contain a single quote: $DIR"
shift 2

BIN=$(pg_bindir)
SUSER=$(id -un)
if [[ $EUID -eq 0 ]]; then
	SUSER=$(server_user)
fi

case $sub in
init) cmd_init "$@" ;;
start) cmd_start "$@" ;;
stop) cmd_stop ;;
status) cmd_status ;;
url) cmd_url "$@" ;;
createdb) cmd_createdb "$@" ;;
destroy) cmd_destroy ;;
*) usage ;;
esac
