#!/usr/bin/env bash
# The x86_64 release binaries of every Lambda (and the two benchmark programs), built as
# `sam build` builds them: in two cargo runs, since built together the receivers would get the
# features the processor's S3 client turns on in the shared AWS crates (and a bigger zip).
# Used by scripts/bench.sh and scripts/sam-local.sh; a no-op when they are current. `.ci/run`
# starts it in the background first, so its single-threaded LTO links fill the cores the
# lints and tests leave idle (cargo locks target/release apart from target/debug).
set -euo pipefail
cd "$(dirname "$0")/.."
# The receivers are the registry's (`hookline providers --list`); the registry is the function
# crates named `*-webhook`, which a test holds to it.
receivers=()
for dir in functions/*-webhook; do receivers+=(-p "$(basename "$dir")"); done
cargo build --release --locked "${receivers[@]}" -p hello-lambda -p send-floor -p first-call -p verify-bench
cargo build --release --locked -p order-watch -p order-poller -p processor
