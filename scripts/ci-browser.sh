#!/usr/bin/env bash
# The browser behind perfhub-html's browser test (tests/browser/report.test.mjs),
# on Debian 12, as root:
#
# - Debian's Chromium (`chromium`), driven headless;
# - playwright-core at the version pinned in tests/browser/package-lock.json,
#   installed with `npm ci` (playwright-core downloads no browser of its own).
#
# Idempotent: installs what is missing, reuses what is there. Prints the
# variables the test reads on stdout (progress goes to stderr):
#
#     eval "$(scripts/ci-browser.sh)"
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "ci-browser: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    log "run me as root (I install Debian packages)"
    exit 1
fi

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
log "$(/usr/bin/chromium --version 2>/dev/null || echo 'chromium: version unknown')"

# npm ci wipes and reinstalls node_modules; skip it when the lockfile has not
# changed since the last install (npm keeps a copy in node_modules).
lock=tests/browser/package-lock.json
installed=tests/browser/node_modules/.package-lock.json
if [ ! -f "$installed" ] || [ ! -d tests/browser/node_modules/playwright-core ] \
    || [ "$lock" -nt "$installed" ]; then
    log "npm ci in tests/browser"
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >&2)
else
    log "tests/browser/node_modules is up to date"
fi

echo "export CHROMIUM=/usr/bin/chromium"
