#!/usr/bin/env bash
# Builds the OpenTelemetry Collector that loadrun compares logshipper with (issue 17):
# the collector builder (ocb) v0.145.0, installed into bin/tools (not into GOPATH/bin), turns
# scripts/peer/builder.yaml (awscloudwatchreceiver, fileexporter and debugexporter, all
# v0.145.0) into bin/otelcol-peer, then prints the binary's version and components.
#
#   scripts/peer.sh            build once; a later run with an unchanged manifest only prints
#   PEER_REBUILD=1 scripts/peer.sh   build again even so
#
# Everything comes from the Go module proxy; the builder's generated sources and go.mod are
# in bin/otelcol-peer-build (bin/ is git-ignored).
set -euo pipefail

cd "$(dirname "$0")/.."

builder_version=v0.145.0
tools=bin/tools
builder="$tools/builder-$builder_version"
manifest=scripts/peer/builder.yaml
out=bin/otelcol-peer
build_dir=bin/otelcol-peer-build   # the manifest's dist.output_path

mkdir -p "$tools" "$build_dir"

if [[ ! -x $builder ]]; then
  echo "peer: installing go.opentelemetry.io/collector/cmd/builder@$builder_version into $tools"
  gobin=$(mktemp -d)
  trap 'rm -rf "$gobin"' EXIT
  GOBIN="$(cd "$gobin" && pwd)" go install "go.opentelemetry.io/collector/cmd/builder@$builder_version"
  mv "$gobin/builder" "$builder"
fi

if [[ -x $out && $out -nt $manifest && -z ${PEER_REBUILD:-} ]]; then
  echo "peer: $out is newer than $manifest; not rebuilt (PEER_REBUILD=1 rebuilds)"
else
  echo "peer: building $out from $manifest"
  start=$(date +%s)
  "$builder" --config "$manifest"
  cp "$build_dir/otelcol-peer" "$out.tmp"
  mv "$out.tmp" "$out"
  echo "peer: built in $(( $(date +%s) - start )) s"
fi

"$out" --version
"$out" components | sed -n '/^receivers:/,$p'
ls -l "$out" | awk '{printf "peer: %s is %.1f MB\n", $NF, $5 / 1e6}'
