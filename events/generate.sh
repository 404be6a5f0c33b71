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

sqs=("${hookline[@]}" sqs-event "${timestamp[@]}")
mkdir -p events/processor

# Every route of the provider registry: an API Gateway v2 request per payload of
# events/payloads/<route>/ in its receiver's folder, and an SQS batch of them all for the
# processor; the receivers' blocks of events/env.json.
"${hookline[@]}" providers --list | while read -r route samples; do
  "${sign[@]}" --out-dir "events/$samples" --provider "$route" "$p/$route"/*.json
  "${sqs[@]}" --provider "$route" "$p/$route"/*.json > "events/processor/$route.json"
done
"${hookline[@]}" providers --env-json events/env.json

# Scenarios of one provider: a base64-encoded body, a duplicate in one batch, every event type.
"${sign[@]}" --out-dir events/octopus-webhook --base64 $p/octopus-base64/*.json
o=$p/octopus
"${sqs[@]}" $o/order-delivered.json > events/processor/order-delivered.json
"${sqs[@]}" $o/esim-delivered.json > events/processor/esim-delivered.json
"${sqs[@]}" $o/order-delivered.json $o/order-delivered.json $o/unknown-type.json \
  > events/processor/duplicate-and-unknown-type.json
"${sqs[@]}" $o/order-delivered.json $o/order-partially-delivered.json $o/order-failed.json \
  $o/order-cancelled.json $o/wallet-credited.json $o/wallet-debited.json $o/esim-delivered.json \
  $o/esim-failed.json $o/esim-cancelled.json $o/esim-installed.json \
  > events/processor/every-event-type.json
