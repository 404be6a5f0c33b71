#!/usr/bin/env bash
# Regenerates the signed sample events from events/payloads with the published test secrets.
#   events/generate.sh            fixed timestamp (what the tests and the committed files use)
#   events/generate.sh --now      current timestamp, for invoking a running function, whose
#                                 300-second replay window refuses the fixed one
set -euo pipefail
cd "$(dirname "$0")/.."
timestamp=(--timestamp 1795341600)   # 2026-11-22T10:00:00Z
[ "${1:-}" = "--now" ] && timestamp=()
hookline=(cargo run -q -p hookline-cli --)
sign=("${hookline[@]}" sign --format apigw "${timestamp[@]}")
p=events/payloads

# API Gateway v2 requests, one folder per receiver function.
"${sign[@]}" --out-dir events/octopus-webhook $p/octopus/*.json
"${sign[@]}" --out-dir events/octopus-webhook --base64 $p/octopus-base64/*.json
"${sign[@]}" --out-dir events/coinme-webhook --provider coinme $p/coinme/*.json
"${sign[@]}" --out-dir events/owlpay-webhook --provider owlpay $p/owlpay/*.json
"${sign[@]}" --out-dir events/owlpay-webhook --provider owlpay-harbor $p/owlpay-harbor/*.json
"${sign[@]}" --out-dir events/optty-webhook --provider optty $p/optty/*.json
"${sign[@]}" --out-dir events/std-webhook --provider std --source acme $p/std/*.json

# SQS batch events for the processor, as the receivers would have enqueued the payloads.
sqs=("${hookline[@]}" sqs-event "${timestamp[@]}")
o=$p/octopus
mkdir -p events/processor
"${sqs[@]}" $o/order-delivered.json > events/processor/order-delivered.json
"${sqs[@]}" $o/esim-delivered.json > events/processor/esim-delivered.json
"${sqs[@]}" $o/order-delivered.json $o/order-delivered.json $o/unknown-type.json \
  > events/processor/duplicate-and-unknown-type.json
"${sqs[@]}" $o/order-delivered.json $o/order-partially-delivered.json $o/order-failed.json \
  $o/order-cancelled.json $o/wallet-credited.json $o/wallet-debited.json $o/esim-delivered.json \
  $o/esim-failed.json $o/esim-cancelled.json $o/esim-installed.json \
  > events/processor/every-event-type.json
"${sqs[@]}" --provider coinme $p/coinme/*.json > events/processor/coinme.json
"${sqs[@]}" --provider owlpay $p/owlpay/*.json > events/processor/owlpay.json
"${sqs[@]}" --provider owlpay-harbor $p/owlpay-harbor/*.json > events/processor/owlpay-harbor.json
"${sqs[@]}" --provider optty $p/optty/*.json > events/processor/optty.json
"${sqs[@]}" --provider std $p/std/*.json > events/processor/std.json
