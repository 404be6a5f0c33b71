#!/usr/bin/env bash
# Every generated file regenerated, then compared with what is committed: a difference fails,
# naming the files and the command that writes them. Run by .ci/run after the tests.
#   events/           events/generate.sh (signed samples, processor batches, events/env.json)
#   template.yaml     hookline template --write (every receiver's part, from the registry)
#   docs/src/configuration.md   scripts/config_reference.py (from template.yaml)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python-env.sh
generated=(events template.yaml docs/src/configuration.md)
bash events/generate.sh > /dev/null 2>&1
cargo run -q --locked -p hookline-cli -- template --write 2> /dev/null
"$HOOKLINE_VENV/bin/python" scripts/config_reference.py
changed=$(git status --porcelain --untracked-files=all -- "${generated[@]}")
if [ -n "$changed" ]; then
  echo "generated files differ from what is committed; run the command in scripts/check-generated.sh's header and commit:" >&2
  echo "$changed" >&2
  git --no-pager diff --stat -- "${generated[@]}" >&2
  exit 1
fi
echo "generated files are current: ${generated[*]}"
