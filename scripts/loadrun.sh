#!/usr/bin/env bash
# The end-to-end load, fault and crash runs of both journeys against cloudsim (issue 6), as
# docs/benchmarks.md reports them. Builds the shipper, then runs `go run ./cmd/loadrun` with
# any arguments given (e.g. -journeys netskope -modes plain -records 200000).
# About 10-15 minutes on a 2-core machine with the defaults (1,000,000 records per journey).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
go build -o bin/logshipper ./cmd/logshipper
go build -o bin/loadrun ./cmd/loadrun
exec bin/loadrun -shipper bin/logshipper "$@"
