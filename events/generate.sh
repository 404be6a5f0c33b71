#!/usr/bin/env bash
# Regenerates the signed sample events from events/payloads with the published test secret.
#   events/generate.sh            fixed timestamp (what the tests and the committed files use)
#   events/generate.sh --now      current timestamp, for invoking a running function, whose
#                                 300-second replay window refuses the fixed one
set -euo pipefail
cd "$(dirname "$0")/.."
timestamp=(--timestamp 1795341600)   # 2026-11-22T10:00:00Z
[ "${1:-}" = "--now" ] && timestamp=()
sign=(cargo run -q -p hookline-cli -- sign --format apigw "${timestamp[@]}" --out-dir events/octopus-webhook)
"${sign[@]}" events/payloads/octopus/*.json
"${sign[@]}" --base64 events/payloads/octopus-base64/*.json

# SQS batch events for the processor, as the receiver would have enqueued the payloads.
p=events/payloads/octopus
sqs=(cargo run -q -p hookline-cli -- sqs-event "${timestamp[@]}")
mkdir -p events/processor
"${sqs[@]}" $p/order-delivered.json > events/processor/order-delivered.json
"${sqs[@]}" $p/esim-delivered.json > events/processor/esim-delivered.json
"${sqs[@]}" $p/order-delivered.json $p/order-delivered.json $p/unknown-type.json \
  > events/processor/duplicate-and-unknown-type.json
"${sqs[@]}" $p/order-delivered.json $p/order-partially-delivered.json $p/order-failed.json \
  $p/order-cancelled.json $p/wallet-credited.json $p/wallet-debited.json $p/esim-delivered.json \
  $p/esim-failed.json $p/esim-cancelled.json $p/esim-installed.json \
  > events/processor/every-event-type.json
