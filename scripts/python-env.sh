# Sourced by scripts/test.sh and .ci/run: a venv with the pinned Python tools (moto server, SAM
# CLI, cfn-lint, pytest), kept between runs in ~/.cache/hookline. Exports HOOKLINE_VENV and
# HOOKLINE_TEST_PYTHON (the interpreter the Rust tests start moto server with).
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export HOOKLINE_VENV="${HOOKLINE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/hookline/venv}"
if [ ! -x "$HOOKLINE_VENV/bin/python" ]; then
  echo "creating Python venv for test tools in $HOOKLINE_VENV" >&2
  python3 -m venv "$HOOKLINE_VENV"
fi
"$HOOKLINE_VENV/bin/pip" install --quiet --disable-pip-version-check \
  -r "$_root/scripts/requirements-tools.txt"
export HOOKLINE_TEST_PYTHON="$HOOKLINE_VENV/bin/python"
export SAM_CLI_TELEMETRY=0
unset _root
