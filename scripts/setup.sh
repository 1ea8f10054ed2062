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
