#!/usr/bin/env bash
# Builds the OpenTelemetry Collector that loadrun compares logshipper with (issue 17):
# the collector builder (ocb) v0.145.0, installed into bin/tools (not into GOPATH/bin), turns
# scripts/peer/builder.yaml (awscloudwatchreceiver, fileexporter and debugexporter, all
# v0.145.0) into bin/otelcol-peer, then prints the binary's version and components.
#
#   scripts/peer.sh                  build once; a later run with an unchanged manifest only prints
#   PEER_REBUILD=1 scripts/peer.sh   build again even so
#   scripts/peer.sh check            build, then show that the collector reads cloudsim: start
#                                    cloudsim (scripts/peer/cloudsim.yaml: the 395 CloudTrail
#                                    samples in CloudWatch Logs) and the collector
#                                    (scripts/peer/otelcol.yaml, to a file), wait until every
#                                    event is in the file, stop both; exit 1 if they do not arrive
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

mode=${1:-build}
case $mode in
  build | check) ;;
  *) echo "usage: $0 [build|check]" >&2; exit 2 ;;
esac

pids=()
tmp=$(mktemp -d)
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tools" "$build_dir"

if [[ ! -x $builder ]]; then
  echo "peer: installing go.opentelemetry.io/collector/cmd/builder@$builder_version into $tools"
  gobin="$(cd "$tmp" && pwd)/gobin"
  GOBIN="$gobin" go install "go.opentelemetry.io/collector/cmd/builder@$builder_version"
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

[[ $mode == check ]] || exit 0

# check: the collector against cloudsim, on cloudsim.yaml's ports (14566 AWS, 14569 admin).
samples=internal/cloudtrailrecord/testdata/panther-rule-tests.ndjson
want=$(grep -c . "$samples")
go build -o bin/cloudsim ./cmd/cloudsim
bin/cloudsim serve -c scripts/peer/cloudsim.yaml >"$tmp/cloudsim.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  curl -fs http://127.0.0.1:14569/healthz >/dev/null && break
  sleep 0.1
done
curl -fs http://127.0.0.1:14569/healthz >/dev/null || { cat "$tmp/cloudsim.log" >&2; echo "peer: cloudsim did not start" >&2; exit 1; }

# awscloudwatchreceiver has no endpoint option: the AWS SDK reads it from the environment.
start=$(date +%s.%N)
AWS_ACCESS_KEY_ID=AKIACLOUDSIMPEER0001 \
  AWS_SECRET_ACCESS_KEY=cloudsim/peer/secret/key/not/a/real/one00 \
  AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=http://127.0.0.1:14566 \
  AWS_EC2_METADATA_DISABLED=true \
  PEER_OUT="$tmp/out.json" \
  "$out" --config scripts/peer/otelcol.yaml >"$tmp/otelcol.log" 2>&1 &
pids+=($!)

# The file exporter writes a JSON line per batch, with one "observedTimeUnixNano" per log
# record and the CloudWatch Logs event id in the record's "id" attribute.
matches() { grep -o "$1" "$tmp/out.json" 2>/dev/null || true; }
got=0
for _ in $(seq 600); do
  got=$(matches '"observedTimeUnixNano"' | wc -l)
  (( got >= want )) && break
  sleep 0.1
done
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
ids=$(matches '"key":"id","value":{"stringValue":"[0-9]*"' | sort -u | wc -l)
problems=$(grep -ciE '\b(error|warn)\b' "$tmp/otelcol.log" || true)
echo "peer: check: $got of $want CloudWatch Logs events in the collector's file ($ids distinct event ids) after ${elapsed}s; $problems error or warning lines in its log"
if (( got != want || ids != want || problems != 0 )); then
  echo "--- collector log" >&2; cat "$tmp/otelcol.log" >&2
  echo "--- cloudsim log" >&2; cat "$tmp/cloudsim.log" >&2
  exit 1
fi
