#!/usr/bin/env bash
# A private PostgreSQL cluster for Charter's tests. Prints the test URL on stdout, nothing else:
#
#   export CHARTER_TEST_POSTGRES_URL=$(bash .ci/postgres.sh)    # start (or reuse) it
#   bash .ci/postgres.sh stop                                    # stop it
#
# - Installs Debian's `postgresql` with apt-get when no server binaries are found (root only).
# - Keeps its own cluster in $CHARTER_PG_DIR (default /tmp/charter-postgres-<uid>), made with
#   initdb; the Debian clusters (pg_lsclusters) and their configuration are left alone, so it
#   works whether or not they exist or run, and needs no systemd.
# - Listens on 127.0.0.1 only, port 5432 or the next free one; its Unix socket is in that folder.
# - As root the server runs as the `postgres` user (runuser); otherwise as the calling user.
# - Role `charter` (password $CHARTER_PG_PASSWORD, default below: a loopback-only test cluster)
#   owning database `charter_test`; created or updated on every run, so running it twice is fine.
# - Durability is off (fsync, synchronous_commit, full_page_writes): test data only. With
#   CHARTER_PG_DURABLE=1 (at the cluster's creation; use another CHARTER_PG_DIR) it keeps
#   PostgreSQL's durable defaults, for benchmarks of durable writes. A cluster that does not
#   start is wiped and made again once.
set -euo pipefail

PG_DIR=${CHARTER_PG_DIR:-/tmp/charter-postgres-$(id -u)}
PG_PASSWORD=${CHARTER_PG_PASSWORD:-charter-test}
ROLE=charter
DB=charter_test
DATA=$PG_DIR/data
MARKER=$PG_DIR/.charter-test-cluster   # only a folder carrying it is ever wiped

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $PG_DIR == /* && $PG_DIR != / ]] || die "CHARTER_PG_DIR must be an absolute path, not '$PG_DIR'"
[[ $PG_PASSWORD =~ ^[A-Za-z0-9._~-]+$ ]] || die "CHARTER_PG_PASSWORD: use only A-Z a-z 0-9 . _ ~ -"

if [[ $(id -u) == 0 ]]; then
    as_pg() { (cd / && runuser -u postgres -- "$@"); }
else
    as_pg() { (cd / && "$@"); }
fi

find_bindir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) \
        "$(pg_config --bindir 2>/dev/null || true)"; do
        if [[ -n $d && -x $d/postgres && -x $d/initdb && -x $d/pg_ctl && -x $d/psql ]]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

install_postgres() {
    [[ $(id -u) == 0 ]] || die "no PostgreSQL server binaries found; install Debian's postgresql package (as root)"
    log "no PostgreSQL server binaries found: apt-get install postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q postgresql >&2
}

# Prints the postmaster's pid if our cluster is running (the pid file may be stale after a reboot).
server_pid() {
    local pid
    [[ -r $DATA/postmaster.pid ]] || return 1
    pid=$(head -n 1 "$DATA/postmaster.pid")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm && $(cat "/proc/$pid/comm") == postgres* ]] || return 1
    echo "$pid"
}

port_in_use() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

free_port() {
    local p
    for ((p = 5432; p < 5532; p++)); do
        port_in_use "$p" || { echo "$p"; return 0; }
    done
    die "no free port in 5432-5531 on 127.0.0.1"
}

init_cluster() {
    if [[ -e $PG_DIR ]]; then
        [[ -e $MARKER ]] || die "$PG_DIR exists and is not a Charter test cluster; remove it or set CHARTER_PG_DIR"
        rm -rf "$DATA"
    fi
    mkdir -p "$PG_DIR"
    touch "$MARKER"
    if [[ $(id -u) == 0 ]]; then chown postgres:postgres "$PG_DIR"; fi
    chmod 0700 "$PG_DIR"
    if ! as_pg "$BINDIR/initdb" -D "$DATA" --auth-local=peer --auth-host=scram-sha-256 \
        --encoding=UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1; then
        cat "$PG_DIR/initdb.log" >&2
        die "initdb failed"
    fi
    as_pg tee -a "$DATA/postgresql.conf" >/dev/null <<EOF

# Charter test cluster (.ci/postgres.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_DIR'
EOF
    if [[ ${CHARTER_PG_DURABLE:-0} != 1 ]]; then
        as_pg tee -a "$DATA/postgresql.conf" >/dev/null <<EOF
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    fi
}

start_cluster() {
    PORT=$(free_port)
    # 9>&- : the server must not inherit the lock; its output goes to the log, never to stdout.
    as_pg "$BINDIR/pg_ctl" -D "$DATA" -l "$PG_DIR/server.log" -w -t 60 -o "-p $PORT" start \
        >/dev/null 2>"$PG_DIR/pg_ctl.err" 9>&-
}

ready() { "$BINDIR/pg_isready" -q -h "$PG_DIR" -p "$PORT" -t 1 2>/dev/null; }

stop_cluster() {
    if server_pid >/dev/null; then
        as_pg "$BINDIR/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 9>&-
        log "stopped the test cluster in $DATA"
    else
        log "the test cluster in $DATA is not running"
    fi
}

case ${1:-start} in
start | stop) ;;
*) die "usage: postgres.sh [start|stop]" ;;
esac

mkdir -p "$(dirname "$PG_DIR")"
exec 9>"$PG_DIR.lock"
flock -w 120 9 || die "another postgres.sh holds $PG_DIR.lock"

if [[ ${1:-start} == stop ]]; then
    if BINDIR=$(find_bindir); then stop_cluster; else log "PostgreSQL is not installed"; fi
    exit 0
fi

BINDIR=$(find_bindir) || { install_postgres; BINDIR=$(find_bindir) || die "PostgreSQL binaries still missing after apt-get"; }
MAJOR=$("$BINDIR/postgres" -V | grep -oE '[0-9]+' | head -n 1)

action=reused
if pid=$(server_pid); then
    PORT=$(sed -n 4p "$DATA/postmaster.pid")
    for _ in $(seq 60); do ready && break; sleep 0.5; done
    ready || die "the cluster in $DATA (pid $pid, port $PORT) does not answer; see $PG_DIR/server.log"
else
    rm -f "$DATA/postmaster.pid"   # stale: no postgres process behind it
    action=started
    if [[ ! -s $DATA/PG_VERSION || $(cat "$DATA/PG_VERSION") != "$MAJOR" ]]; then
        init_cluster
        action="created and started"
    fi
    if ! start_cluster; then
        log "the cluster did not start:"
        tail -n 20 "$PG_DIR/server.log" "$PG_DIR/pg_ctl.err" >&2 2>/dev/null || true
        log "making it again"
        init_cluster
        start_cluster || { tail -n 20 "$PG_DIR/server.log" >&2 2>/dev/null || true; die "PostgreSQL did not start; see $PG_DIR/server.log"; }
        action="created and started"
    fi
fi

as_pg "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PORT" -d postgres \
    -v role="$ROLE" -v db="$DB" -v pw="$PG_PASSWORD" >&2 <<'SQL'
SELECT format('CREATE ROLE %I', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN CREATEDB PASSWORD :'pw';
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
ALTER DATABASE :"db" OWNER TO :"role";
SQL

# Prove the URL works: password login over TCP, as a client would.
PGPASSWORD=$PG_PASSWORD "$BINDIR/psql" -X -q -tA -h 127.0.0.1 -p "$PORT" -U "$ROLE" -d "$DB" \
    -c 'SELECT 1' >/dev/null || die "cannot log in as $ROLE to $DB on 127.0.0.1:$PORT"

log "PostgreSQL $MAJOR test cluster $action: 127.0.0.1:$PORT, database $DB owned by $ROLE (data: $DATA)"
echo "postgresql+psycopg://$ROLE:$PG_PASSWORD@127.0.0.1:$PORT/$DB"
