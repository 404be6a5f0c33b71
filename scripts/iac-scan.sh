#!/usr/bin/env bash
# checkov (a third-party IaC scanner, pinned in scripts/requirements-checkov.txt, in a venv of its
# own: its pins clash with the SAM CLI's) over template.yaml. Every finding is either fixed or
# accepted in docs/src/security.md's table "Accepted scanner findings" (`| CKV_… | resources |
# reason |`, scripts/iac_scan.py): a new finding, one on a resource not listed, an accepted one
# without its reason, or a row that no longer fails, fails the scan.
#   scripts/iac-scan.sh             install checkov if needed, then scan
#   scripts/iac-scan.sh --install   install only (.ci/run starts this in the background)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${XDG_CACHE_HOME:-$HOME/.cache}/hookline/checkov-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-checkov.txt
[ "${1:-}" = "--install" ] && exit 0
report=$(mktemp)
trap 'rm -f "$report"' EXIT
# checkov exits non-zero on any finding; the comparison decides.
"$venv/bin/checkov" --file template.yaml --framework cloudformation --quiet --skip-download --output json \
  > "$report" || true
python3 scripts/iac_scan.py "$report"
