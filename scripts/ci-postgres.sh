#!/usr/bin/env bash
# A PostgreSQL server on loopback for perfhub-history's tests (Debian 12, as root).
#
# Installs PostgreSQL when it is missing, creates or reuses the newest
# cluster, makes it listen on 127.0.0.1 only, starts it (or leaves it
# running), and creates or updates a `perfhub` role that may create
# databases. Idempotent: run it on a cold machine or again on a warm one.
#
# Prints the variable the tests take on stdout, and nothing else there
# but a `# perfhub-ci: started` line when it started the cluster: progress,
# and whatever pg_ctlcluster says (such as "Removed stale pid file."), goes
# to stderr:
#
#     eval "$(scripts/ci-postgres.sh)"    # export PERFHUB_TEST_POSTGRES=postgres://...
#     scripts/ci-postgres.sh stop          # stops the cluster if this script started it
#
# `cargo xtask ci` runs both. Settings: PERFHUB_PG_PORT (5432),
# PERFHUB_PG_PASSWORD (perfhub).
set -euo pipefail

port="${PERFHUB_PG_PORT:-5432}"
password="${PERFHUB_PG_PASSWORD:-perfhub}"
log() { echo "ci-postgres: $*" >&2; }
# Written when this script starts the cluster; `stop` stops only then.
marker="/var/tmp/perfhub-ci-postgres-$port.started"
# True when PID is a live (not zombie) postgres process.
postmaster_alive() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    [[ "$stat" == *"(postgres) "[!Z]* ]]
}

if [ "$(id -u)" -ne 0 ]; then
    log "run me as root (I install packages and manage the cluster)"
    exit 1
fi

if [ "${1:-}" = stop ]; then
    if [ -f "$marker" ]; then
        read -r version cluster <"$marker"
        log "stopping cluster $version/$cluster"
        pg_ctlcluster "$version" "$cluster" stop >&2 || true
        rm -f "$marker"
    fi
    exit 0
fi

if ! command -v pg_ctlcluster >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "installing postgresql"
    apt-get update -qq >&2
    # Debian's package creates and starts a `main` cluster on install where
    # it can; the rest of this script copes with either outcome.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
cluster=main
conf_dir="/etc/postgresql/$version/$cluster"
if [ ! -f "$conf_dir/postgresql.conf" ]; then
    log "creating cluster $version/$cluster"
    pg_createcluster "$version" "$cluster" --port "$port" >/dev/null
fi

# Loopback only, on the chosen port. Debian's postgresql.conf reads conf.d/.
wanted="$(printf "listen_addresses = '127.0.0.1'\nport = %s\n" "$port")"
mkdir -p "$conf_dir/conf.d"
changed=0
if [ "$(cat "$conf_dir/conf.d/perfhub.conf" 2>/dev/null)" != "$wanted" ]; then
    printf '%s\n' "$wanted" >"$conf_dir/conf.d/perfhub.conf"
    changed=1
fi

# pg_lsclusters: Ver Cluster Port Status Owner Data-directory Log-file
status="$(pg_lsclusters --no-header | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c { print $4 }')"
case "$status" in
    online*)
        if [ "$changed" -eq 1 ]; then
            log "restarting cluster $version/$cluster with the new settings"
            pg_ctlcluster "$version" "$cluster" restart >&2
        fi
        ;;
    *)
        # A machine restored from a snapshot can keep a socket lock whose
        # postmaster is gone; pg_ctlcluster clears a stale pid file itself but
        # not this one.
        lock="/var/run/postgresql/.s.PGSQL.$port.lock"
        if [ -f "$lock" ] && ! postmaster_alive "$(head -n 1 "$lock")"; then
            log "removing the stale socket lock $lock"
            rm -f "$lock" "/var/run/postgresql/.s.PGSQL.$port"
        fi
        log "starting cluster $version/$cluster on 127.0.0.1:$port"
        pg_ctlcluster "$version" "$cluster" start >&2
        echo "$version $cluster" >"$marker"
        echo "# perfhub-ci: started"
        ;;
esac

for _ in $(seq 1 60); do
    if pg_isready -q -h 127.0.0.1 -p "$port"; then
        break
    fi
    sleep 0.5
done
if ! pg_isready -q -h 127.0.0.1 -p "$port"; then
    log "the server does not answer on 127.0.0.1:$port; its log:"
    tail -n 30 "/var/log/postgresql/postgresql-$version-$cluster.log" >&2 || true
    exit 1
fi

# The role the tests connect as: password login over loopback TCP (Debian's
# pg_hba.conf asks for scram-sha-256 on 127.0.0.1), allowed to create the
# throwaway databases each test uses.
escaped_password="${password//\'/\'\'}"
runuser -u postgres -- psql -q -X -p "$port" -v ON_ERROR_STOP=1 -d postgres >/dev/null <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'perfhub') THEN
        CREATE ROLE perfhub LOGIN CREATEDB PASSWORD '$escaped_password';
    ELSE
        ALTER ROLE perfhub LOGIN CREATEDB PASSWORD '$escaped_password';
    END IF;
END
\$\$;
SQL

url="postgres://perfhub:$password@127.0.0.1:$port/postgres"
if ! PGPASSWORD="$password" psql -q -X -h 127.0.0.1 -p "$port" -U perfhub -d postgres -c 'SELECT 1' >/dev/null; then
    log "cannot log in as perfhub over 127.0.0.1:$port"
    exit 1
fi
log "ready: postgres://perfhub:***@127.0.0.1:$port/postgres"
echo "export PERFHUB_TEST_POSTGRES=$url"
