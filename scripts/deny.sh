#!/usr/bin/env bash
# cargo-deny over the workspace (deny.toml): licences, bans and sources always; advisories when
# the RustSec database is on disk, offline. Run by .ci/run.
#   scripts/deny.sh             install cargo-deny if needed, then check
#   scripts/deny.sh --install   install cargo-deny only (.ci/run starts this in the background)
#
# Advisories: cargo-deny clones github.com/rustsec/advisory-db, which this machine (and CI)
# cannot reach. Where a copy is on disk it is used offline: on a machine with network, run
# `cargo deny fetch` (or clone the repository), then copy ~/.cargo/advisory-dbs/ across; or point
# HOOKLINE_ADVISORY_DB at a clone of advisory-db. Without either the advisory check is reported
# as skipped, never as passed. A made-up advisory (tests/fixtures/advisory-db) proves on every
# run that the offline check does fail on a matching advisory.
set -euo pipefail
cd "$(dirname "$0")/.."
version=0.20.2
tools="${XDG_CACHE_HOME:-$HOME/.cache}/hookline/tools"
if ! [ -x "$tools/bin/cargo-deny" ] || [ "$("$tools/bin/cargo-deny" --version)" != "cargo-deny $version" ]; then
  # --debug: a fraction of the build time; checking this workspace takes seconds either way.
  cargo install --quiet --debug --locked --version "$version" --root "$tools" cargo-deny
fi
[ "${1:-}" = "--install" ] && exit 0
export PATH="$tools/bin:$PATH"

cargo deny --locked check --hide-inclusion-graph licenses bans sources

# The database directory cargo-deny names after the default advisory-db URL.
db_dir=advisory-db-3157b0e258782691
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# deny.toml with the advisory database at `$1`.
config_with_db() {
  sed "s|^\[advisories\]\$|[advisories]\ndb-path = \"$1\"|" deny.toml > "$work/deny.toml"
}

# The offline check fails on an advisory that matches a dependency (hex, in the fixture).
mkdir -p "$work/fixture/$db_dir"
cp -r tests/fixtures/advisory-db/. "$work/fixture/$db_dir/"
git -C "$work/fixture/$db_dir" init -q
git -C "$work/fixture/$db_dir" add -A
git -C "$work/fixture/$db_dir" -c user.name=hookline -c user.email=ci@hookline.invalid commit -qm fixture
config_with_db "$work/fixture"
if cargo deny --offline --locked --config "$work/deny.toml" check advisories > "$work/fixture.log" 2>&1 \
  || ! grep -q RUSTSEC-2099-0001 "$work/fixture.log"; then
  cat "$work/fixture.log" >&2
  echo "the offline advisory check did not fail on the fixture advisory RUSTSEC-2099-0001" >&2
  exit 1
fi
echo "advisories: the offline check fails on a matching advisory (fixture RUSTSEC-2099-0001)"

# The real database, when one is on disk.
if [ -n "${HOOKLINE_ADVISORY_DB:-}" ]; then
  mkdir -p "$work/real"
  ln -s "$(cd "$HOOKLINE_ADVISORY_DB" && pwd)" "$work/real/$db_dir"
  config_with_db "$work/real"
  cargo deny --offline --locked --config "$work/deny.toml" check advisories
elif [ -d "${CARGO_HOME:-$HOME/.cargo}/advisory-dbs/$db_dir/.git" ]; then
  cargo deny --offline --locked check advisories
else
  echo "advisories: SKIPPED, no RustSec database on disk (${CARGO_HOME:-$HOME/.cargo}/advisory-dbs/$db_dir, or HOOKLINE_ADVISORY_DB); see docs/src/security.md, Dependencies"
fi
