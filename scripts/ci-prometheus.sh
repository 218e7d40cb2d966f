#!/usr/bin/env bash
# A Prometheus Pushgateway on loopback, and promtool, for
# perfhub-adapter-prometheus's tests (Debian 12, as root).
#
# Installs the Debian packages `prometheus-pushgateway` (the gateway,
# /usr/bin/prometheus-pushgateway) and `prometheus` (promtool) when they are
# missing, starts the gateway on 127.0.0.1 in the background with nohup
# unless something already answers there (no systemd needed), waits until
# it is ready, and prints the variables the tests read on stdout (progress
# goes to stderr):
#
#     eval "$(scripts/ci-prometheus.sh)"
#     scripts/ci-prometheus.sh stop     # stops the gateway if this script started it
#
# A `# perfhub-ci: started` line on stdout says it started the gateway.
# `cargo xtask ci` runs both.
# Idempotent: run it on a cold machine or again on a warm one.
# Settings: PERFHUB_PUSHGATEWAY_PORT (19091). The gateway keeps its metrics
# in memory only; its log is /tmp/perfhub-pushgateway-<port>.log.
set -euo pipefail

port="${PERFHUB_PUSHGATEWAY_PORT:-19091}"
url="http://127.0.0.1:$port"
log_file="/tmp/perfhub-pushgateway-$port.log"
pid_file="/tmp/perfhub-pushgateway-$port.pid"
log() { echo "ci-prometheus: $*" >&2; }

ready() {
    # The gateway's own readiness endpoint; bash's /dev/tcp when curl is absent.
    if command -v curl >/dev/null; then
        curl -fsS -o /dev/null --max-time 2 "$url/-/ready" 2>/dev/null
    else
        exec 3<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null || return 1
        printf 'GET /-/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
        local status
        status="$(head -n 1 <&3 2>/dev/null || true)"
        exec 3<&- 3>&-
        [[ "$status" == *" 200 "* ]]
    fi
}

if [ "${1:-}" = stop ]; then
    if [ -f "$pid_file" ]; then
        pid="$(cat "$pid_file")"
        # Only the gateway this script started: its pid and its name (the
        # kernel keeps the first 15 characters of it).
        if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = prometheus-push ]; then
            log "stopping the Pushgateway (pid $pid)"
            kill "$pid" 2>/dev/null || true
        fi
        rm -f "$pid_file"
    fi
    exit 0
fi

need=()
command -v prometheus-pushgateway >/dev/null || need+=(prometheus-pushgateway)
command -v promtool >/dev/null || need+=(prometheus)
if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        log "run me as root to install ${need[*]}"
        exit 1
    fi
    log "installing ${need[*]}"
    apt-get update -qq >&2
    # The packages start their services only where systemd runs; this
    # script starts its own gateway either way.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
pushgateway="$(command -v prometheus-pushgateway)"
promtool="$(command -v promtool)"

if ready; then
    log "a Pushgateway already answers on $url"
else
    log "starting $pushgateway on 127.0.0.1:$port (log: $log_file)"
    nohup "$pushgateway" \
        --web.listen-address="127.0.0.1:$port" \
        >"$log_file" 2>&1 </dev/null &
    echo $! >"$pid_file"
    disown || true
    echo "# perfhub-ci: started"
    for _ in $(seq 1 100); do
        if ready; then
            break
        fi
        sleep 0.1
    done
    if ! ready; then
        log "the Pushgateway does not answer on $url; its log:"
        tail -n 30 "$log_file" >&2 || true
        exit 1
    fi
fi
log "ready: $url ($("$pushgateway" --version 2>&1 | head -n 1)), $("$promtool" --version 2>&1 | head -n 1)"
echo "export PERFHUB_TEST_PUSHGATEWAY=$url"
echo "export PERFHUB_TEST_PROMTOOL=$promtool"
