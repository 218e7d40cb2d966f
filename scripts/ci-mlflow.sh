#!/usr/bin/env bash
# An MLflow tracking server on loopback for perfhub-adapter-mlflow's tests
# (Debian 12, as root).
#
# Creates or reuses a virtualenv outside the clone, installs the pinned
# `mlflow` package into it (the full package: `mlflow-skinny` has no
# `mlflow server`), starts `mlflow server` with a SQLite backend on
# 127.0.0.1 unless a server already answers there, and waits until its REST
# API does. Idempotent: run it on a cold machine or again on a warm one.
#
# Prints the line the tests take on stdout (progress goes to stderr):
#
#     eval "$(scripts/ci-mlflow.sh)"    # export PERFHUB_TEST_MLFLOW=http://127.0.0.1:15000
#     scripts/ci-mlflow.sh stop         # stops the server if this script started it
#
# A `# perfhub-ci: started` line on stdout says it started the server.
# `cargo xtask ci` runs both.
#
# Settings: PERFHUB_MLFLOW_PORT (15000), PERFHUB_MLFLOW_HOME
# (/var/tmp/perfhub-ci-mlflow: the virtualenv, the database, artifacts, the
# server's log and pid), PERFHUB_MLFLOW_VERSION (the pinned version below).
set -euo pipefail

port="${PERFHUB_MLFLOW_PORT:-15000}"
home="${PERFHUB_MLFLOW_HOME:-/var/tmp/perfhub-ci-mlflow}"
version="${PERFHUB_MLFLOW_VERSION:-3.17.2}"
venv="$home/venv"
url="http://127.0.0.1:$port"
log() { echo "ci-mlflow: $*" >&2; }

if [ "${1:-}" = stop ]; then
    if [ -f "$home/server.pid" ]; then
        pid="$(cat "$home/server.pid")"
        if kill -0 "$pid" 2>/dev/null; then
            log "stopping the tracking server (pid $pid, and its workers)"
            kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
        fi
        rm -f "$home/server.pid"
    fi
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    log "run me as root (I may install Debian packages)"
    exit 1
fi

# The REST API, not just the port: an experiment search answers only once
# the server has migrated its database and loaded its routes.
answers() {
    curl -fsS -m 5 -o /dev/null \
        -H 'Content-Type: application/json' \
        -d '{"max_results": 1}' \
        "$url/api/2.0/mlflow/experiments/search" 2>/dev/null
}

need_apt=()
command -v curl >/dev/null || need_apt+=(curl)
command -v python3 >/dev/null || need_apt+=(python3)
if [ "${#need_apt[@]}" -gt 0 ]; then
    log "installing ${need_apt[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if answers; then
    log "a tracking server already answers on $url"
    echo "export PERFHUB_TEST_MLFLOW=$url"
    exit 0
fi

mkdir -p "$home"
if [ ! -x "$venv/bin/mlflow" ] || [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("mlflow"))' 2>/dev/null)" != "$version" ]; then
    if [ ! -x "$venv/bin/python" ]; then
        log "creating the virtualenv $venv"
        if ! python3 -m venv "$venv" >/dev/null 2>&1; then
            # Debian splits venv and ensurepip out of python3.
            rm -rf "$venv"
            py="$(python3 -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}")')"
            log "installing python3-venv ($py-venv)"
            apt-get update -qq >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv "$py-venv" >/dev/null
            python3 -m venv "$venv" >&2
        fi
    fi
    log "installing mlflow==$version into $venv (a few minutes on a cold machine)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "mlflow==$version" >&2
fi

# A server this script started earlier may be dead or hung: stop it by the
# pid it recorded, never by name.
if [ -f "$home/server.pid" ]; then
    old="$(cat "$home/server.pid")"
    if kill -0 "$old" 2>/dev/null; then
        log "stopping the unresponsive server (pid $old)"
        kill -- "-$old" 2>/dev/null || kill "$old" 2>/dev/null || true
        sleep 2
    fi
    rm -f "$home/server.pid"
fi

log "starting mlflow server on $url (log: $home/server.log)"
mkdir -p "$home/artifacts"
# setsid: its own process group, so the workers stop with it.
nohup setsid "$venv/bin/mlflow" server \
    --backend-store-uri "sqlite:///$home/mlflow.db" \
    --default-artifact-root "$home/artifacts" \
    --host 127.0.0.1 --port "$port" --workers 1 \
    >"$home/server.log" 2>&1 </dev/null &
echo $! >"$home/server.pid"
echo "# perfhub-ci: started"

for _ in $(seq 1 120); do
    if answers; then
        log "ready: $url"
        echo "export PERFHUB_TEST_MLFLOW=$url"
        exit 0
    fi
    if ! kill -0 "$(cat "$home/server.pid")" 2>/dev/null; then
        break
    fi
    sleep 1
done
log "the server does not answer on $url; its log:"
tail -n 40 "$home/server.log" >&2 || true
exit 1
