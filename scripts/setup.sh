#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh machine. Idempotent; CI runs it first.
# Today that is only Go (on the machine image at /usr/local/go); later tests add Debian
# packages here (rsyslog for the syslog integration test).
set -euo pipefail

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    echo "setup: Go is at /usr/local/go/bin; add it to PATH" >&2
  else
    echo "setup: Go 1.26 or newer is needed (https://go.dev/doc/install)" >&2
    exit 1
  fi
fi

# rsyslog, for the syslog destination's integration test (plugins/destinations/syslog). Only
# when missing; non-interactive; no recommended packages; the daemon is not started (the test
# runs its own rsyslogd as a child on free ports).
if ! command -v rsyslogd >/dev/null 2>&1 && [ ! -x /usr/sbin/rsyslogd ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends rsyslog >/dev/null
  else
    echo "setup: rsyslog is missing and apt-get is not available; the syslog integration test will skip" >&2
  fi
fi
