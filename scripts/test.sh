#!/usr/bin/env bash
# The whole test suite: Rust unit and integration tests (each test process starts and stops its
# own moto server on 127.0.0.1) and the checks of template.yaml. Needs Rust and Python 3 only.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python-env.sh
rm -rf target/tmp/reliability
# Every test binary `cargo test --workspace` builds, four at a time (scripts/run_tests.py), and
# beside them a throwaway provider added in a scratch copy (scripts/scratch-provider.sh).
"$HOOKLINE_VENV/bin/python" scripts/run_tests.py --alongside scripts/scratch-provider.sh
echo "== reliability figures (docs/src/reliability.md)"
cat target/tmp/reliability/*.txt
"$HOOKLINE_VENV/bin/python" -m pytest -q tests/template_test.py tests/deploy_rehearsal_test.py tests/iac_scan_test.py tests/readme_commands_test.py
