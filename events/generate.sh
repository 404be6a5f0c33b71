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
