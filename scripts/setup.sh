#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh machine. Idempotent; CI runs it first.
# Go comes with the machine image (/usr/local/go); the Debian packages below are installed
# when missing. A needed package that is missing on a machine without apt-get stops the
# script with a message: the tests that use it fail rather than skip.
set -euo pipefail

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    echo "setup: Go is at /usr/local/go/bin; add it to PATH" >&2
  else
    echo "setup: Go 1.26 or newer is needed (https://go.dev/doc/install)" >&2
    exit 1
  fi
fi

# Debian packages the tests need, each only when missing:
# - rsyslog, for the syslog destination's integration test (plugins/destinations/syslog). The
#   daemon is not started: the test runs its own rsyslogd as a child on free ports.
# - chromium, the headless browser of the console's browser tests (internal/browsertest). A
#   browser already on the machine (chromium-browser, google-chrome, or the one that
#   LOGSHIPPER_CHROMIUM names) is used as it is.
missing=()
if ! command -v rsyslogd >/dev/null 2>&1 && [ ! -x /usr/sbin/rsyslogd ]; then
  missing+=(rsyslog)
fi
if [ -n "${LOGSHIPPER_CHROMIUM:-}" ]; then
  if ! command -v "$LOGSHIPPER_CHROMIUM" >/dev/null 2>&1; then
    echo "setup: LOGSHIPPER_CHROMIUM is $LOGSHIPPER_CHROMIUM, which is not an executable program" >&2
    exit 1
  fi
elif ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 &&
  ! command -v google-chrome >/dev/null 2>&1; then
  missing+=(chromium)
fi
# - nodejs and npm, for the independent Parquet reader of the Security Lake destination's tests
#   (below).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: missing: ${missing[*]}; apt-get is not available to install them." >&2
    echo "setup: install them with this machine's package manager; the tests need them." >&2
    exit 1
  fi
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The OpenTelemetry Collector the load run compares with (loadrun -peer otel; its test,
# internal/loadrun's TestPeerRun, needs it): built once into bin/otelcol-peer by
# scripts/peer.sh (about a minute and a half the first time, then nothing).
bash "$(dirname "$0")/peer.sh"

# hyparquet (pure JavaScript, with hyparquet-compressors for zstd): the independent Parquet
# reader the Security Lake destination's tests read its objects back with
# (plugins/destinations/securitylake). Installed into tools/npm (git-ignored), pinned.
npm_dir="$(cd "$(dirname "$0")/.." && pwd)/tools/npm"
if [ ! -f "$npm_dir/node_modules/hyparquet/package.json" ] || [ ! -f "$npm_dir/node_modules/hyparquet-compressors/package.json" ]; then
  echo "setup: installing hyparquet into $npm_dir" >&2
  mkdir -p "$npm_dir"
  npm install --prefix "$npm_dir" --no-audit --no-fund --silent hyparquet@1.33.0 hyparquet-compressors@1.1.2 >/dev/null
fi

# moto_server (moto 5.2.1), the S3 the Security Lake destination's tests write to: installed
# with pip when missing (the tests fail, naming this script, without it).
if ! command -v moto_server >/dev/null 2>&1; then
  echo "setup: installing moto[server]==5.2.1 with pip" >&2
  python3 -m pip install --quiet 'moto[server]==5.2.1' || {
    echo "setup: could not install moto; install moto[server] 5.2.1 so that moto_server is on PATH" >&2
    exit 1
  }
fi
