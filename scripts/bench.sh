#!/usr/bin/env bash
# hookline's performance figures, each against its budget, in one table (README, Performance).
# Builds the release binaries, starts a moto server on 127.0.0.1 for the SDK calls, and runs the
# criterion benchmarks, the cold-start harness and the local throughput run. Exits non-zero when
# a budget is broken. Takes about 15 minutes on 2 cores, most of it the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python-env.sh
out=target/bench
mkdir -p "$out"

cargo build --release --locked -p octopus-webhook -p processor -p hello-lambda -p hookline-cli

port=$("$HOOKLINE_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$HOOKLINE_VENV/bin/moto_server" -H 127.0.0.1 -p "$port" > "$out/moto.log" 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true' EXIT
endpoint="http://127.0.0.1:$port"
for _ in $(seq 50); do curl -sf "$endpoint/moto-api/" > /dev/null && break; sleep 0.2; done
eval "$(target/release/hookline emulator-setup --aws-endpoint "$endpoint" | sed 's/^/export /')"

cargo bench --locked -p hookline --bench verify -- --warm-up-time 1 --measurement-time 3 > "$out/criterion.log"
"$HOOKLINE_VENV/bin/python" bench/coldstart.py --runs 20 --release-dir target/release \
  --events-dir events --aws-endpoint "$endpoint" --ingest-queue-url "$INGEST_QUEUE_URL" \
  --events-table "$EVENTS_TABLE" --order-updates-queue-url "$ORDER_UPDATES_QUEUE_URL" \
  --json "$out/coldstart.json"
RUST_LOG=warn target/release/hookline bench-local --count 20000 > "$out/throughput.md"
"$HOOKLINE_VENV/bin/python" bench/report.py target/release "$out" target
