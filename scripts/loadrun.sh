#!/usr/bin/env bash
# The end-to-end load, fault and crash runs of both journeys against cloudsim (issue 6), as
# docs/benchmarks.md reports them. Builds the shipper, then runs `go run ./cmd/loadrun` with
# any arguments given (e.g. -journeys netskope -modes plain -records 200000).
# About 10-15 minutes on a 2-core machine with the defaults (1,000,000 records per journey).
# More (issue 17), e.g.:
#   scripts/loadrun.sh -journeys cloudtrail -modes plain -peer otel -peer-bin bin/otelcol-peer -rounds 3
#   scripts/loadrun.sh -journeys cloudtrail -modes plain -peer otel -backend moto -records 300000 -rounds 3
#   scripts/loadrun.sh -journeys netskope -modes plain -shipper-b /tmp/old/logshipper -rounds 4
#   scripts/loadrun.sh -journeys cloudtrail -modes live -records 30000 -rate 500            # source defaults: lag 10m
#   scripts/loadrun.sh -journeys cloudtrail -modes live -records 30000 -rate 500 -source-opts lag=5s,poll_interval=2s
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
go build -o bin/logshipper ./cmd/logshipper
go build -o bin/loadrun ./cmd/loadrun
exec bin/loadrun -shipper bin/logshipper "$@"
