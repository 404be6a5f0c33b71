#!/usr/bin/env bash
# hookline's performance figures, each against its budget, in one table (docs/src/performance.md).
#   scripts/bench.sh           everything: criterion, cold starts, sizes (x86_64 and, where the
#                              aarch64 target is installed, arm64), the counted cost, local
#                              throughput and its perf profile, the full failure storm (~20 min cold)
#   scripts/bench.sh --quick   what CI checks: sizes and ratios only, never an absolute time
# Builds the release binaries, starts a moto server on 127.0.0.1 for the SDK calls, measures, and
# exits non-zero when a budget is broken.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=false
[ "${1:-}" = "--quick" ] && quick=true
source scripts/python-env.sh
out=target/bench
rm -rf "$out" && mkdir -p "$out"

cargo build --locked -q -p hookline-cli  # the dev build the tests use: registry, emulator, signing
hookline=target/debug/hookline
# Every receiver of the provider registry, and the other functions.
mapfile -t receivers < <("$hookline" providers --list | awk '{print $2}' | sort -u)
others=(order-watch order-poller processor)
functions=("${receivers[@]}" "${others[@]}")
receiver_packages=()
for f in "${receivers[@]}"; do receiver_packages+=(-p "$f"); done
other_packages=()
for f in "${others[@]}"; do other_packages+=(-p "$f"); done
scripts/build-release.sh
"$hookline" providers > "$out/providers.json"

report=(--release-dir target/release --bench-dir "$out")
if ! $quick; then
  # The release build with its symbols kept (Cargo.toml, profile `profiling`), so perf can name
  # what it samples; the same code and optimisation as `--release`.
  cargo build --profile profiling --locked -p hookline-cli
  if rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    # cargo-lambda cross-links with zig; both come from PyPI into a venv of their own.
    venv="${XDG_CACHE_HOME:-$HOME/.cache}/hookline/bench-venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-bench.txt
    PATH="$venv/bin:$PATH" cargo lambda build --release --arm64 --locked "${receiver_packages[@]}"
    PATH="$venv/bin:$PATH" cargo lambda build --release --arm64 --locked "${other_packages[@]}"
    report+=(--arm64-dir target/lambda)
  else
    echo "no arm64 sizes: rustup target add aarch64-unknown-linux-gnu to get them" >&2
  fi
fi

port=$("$HOOKLINE_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$HOOKLINE_VENV/bin/moto_server" -H 127.0.0.1 -p "$port" > "$out/moto.log" 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true' EXIT
endpoint="http://127.0.0.1:$port"
for _ in $(seq 50); do curl -sf "$endpoint/moto-api/" > /dev/null && break; sleep 0.2; done
eval "$("$hookline" emulator-setup --aws-endpoint "$endpoint" | sed 's/^/export /')"

# The cost per million webhooks, counted (docs/src/cost.md): every AWS request, log byte and
# invocation of a run against moto. --quick: a small debug run, to check it works and its audit.
if $quick; then
  "$hookline" bench-cost --aws-endpoint "$endpoint" --count 300 --json "$out/cost.json" \
    | tee "$out/cost.md"
else
  # Before the batch-size cut (BatchSize 10), then the template's; the second writes docs/src/cost.md.
  target/profiling/hookline bench-cost --aws-endpoint "$endpoint" --count 1000 --batch-size 10 \
    --json "$out/cost-batch10.json" > "$out/cost-batch10.md"
  target/profiling/hookline bench-cost --aws-endpoint "$endpoint" --count 1000 \
    --json "$out/cost.json" --readme docs/src/cost.md | tee "$out/cost.md"
fi
report+=(--cost "$out/cost.json")

target/release/verify-ratio > "$out/verify-ratio.json"
if $quick; then
  runs=5
else
  criterion=(-- --warm-up-time 1 --measurement-time 3)
  cargo bench --locked -p verify-bench --bench verify "${criterion[@]}" > "$out/criterion.log"
  cargo bench --locked -p hookline --bench process_record "${criterion[@]}" >> "$out/criterion.log"
  report+=(--criterion-dir target/criterion)
  runs=20
fi
# The same emulator over HTTPS (a keep-alive TLS front with a throwaway CA): the first request
# with and without the connection opened at init (docs/src/performance.md).
"$HOOKLINE_VENV/bin/python" bench/tls_proxy.py --upstream "$endpoint" --dir "$out/tls" \
  > "$out/tls-endpoint" 2> "$out/tls-proxy.log" &
tls_proxy=$!
trap 'kill $moto $tls_proxy 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$out/tls-endpoint" ] && break; sleep 0.2; done
tls_endpoint=$(head -1 "$out/tls-endpoint")
# A second front for Secrets Manager: in AWS it is another host than SQS, with its own connection.
"$HOOKLINE_VENV/bin/python" bench/tls_proxy.py --upstream "$endpoint" --dir "$out/tls-secrets" \
  > "$out/tls-secrets-endpoint" 2> "$out/tls-secrets-proxy.log" &
tls_secrets_proxy=$!
trap 'kill $moto $tls_proxy $tls_secrets_proxy 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$out/tls-secrets-endpoint" ] && break; sleep 0.2; done
cat "$out/tls/bundle.pem" "$out/tls-secrets/ca.pem" > "$out/tls-bundles.pem"

"$HOOKLINE_VENV/bin/python" bench/coldstart.py --runs "$runs" --release-dir target/release \
  --events-dir events --hookline "$hookline" --aws-endpoint "$endpoint" \
  --ingest-queue-url "$INGEST_QUEUE_URL" --events-table "$EVENTS_TABLE" \
  --order-updates-queue-url "$ORDER_UPDATES_QUEUE_URL" --json "$out/coldstart.json" \
  --tls-endpoint "$tls_endpoint" --tls-ca-bundle "$out/tls-bundles.pem" \
  --tls-secrets-endpoint "$(head -1 "$out/tls-secrets-endpoint")"
if $quick; then
  report+=(--quick)
else
  # Twice, without then with the archive (a folder): what archiving costs, in the same run.
  rm -rf "$out/archive"
  RUST_LOG=warn target/profiling/hookline bench-local --count 20000 --archive-dir "$out/archive" \
    > "$out/throughput.md"
  # Where its time goes: one more run under perf, with call stacks (docs/src/performance.md).
  if perf record -q -F 999 --call-graph dwarf,16384 -o "$out/perf.data" -- \
      env RUST_LOG=warn target/profiling/hookline bench-local --count 10000 --runs 1 > /dev/null; then
    perf script -i "$out/perf.data" 2> /dev/null > "$out/perf.txt"
    python3 bench/profile.py "$out/perf.txt" | tee "$out/profile.md"
    rm -f "$out/perf.data" "$out/perf.txt"
  else
    echo "no profile: perf is missing or not allowed here (Debian: linux-perf)" | tee "$out/profile.md" >&2
  fi
  # The full failure storm (docs/src/reliability.md): exits non-zero on any violation.
  target/profiling/hookline storm --full --seed 1 2 3 4 5 | tee "$out/storm.txt"
fi
"$HOOKLINE_VENV/bin/python" bench/report.py "${report[@]}"
