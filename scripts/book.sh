#!/usr/bin/env bash
# The book (docs/): mdBook builds it into target/book/, then scripts/check_book.py checks every
# page is listed and every relative link of the book and the README leads somewhere.
#   scripts/book.sh             install mdBook if needed, build, check
#   scripts/book.sh --install   install mdBook only (.ci/run starts this in the background)
# mdBook comes from crates.io, pinned, without its server, watcher and search index (none is
# needed to build), into ~/.cache/hookline/tools.
set -euo pipefail
cd "$(dirname "$0")/.."
version=0.4.49
tools="${XDG_CACHE_HOME:-$HOME/.cache}/hookline/tools"
mdbook="$tools/bin/mdbook"
if ! [ -x "$mdbook" ] || [ "$("$mdbook" --version)" != "mdbook v$version" ]; then
  # --debug: a quarter of the build time, and fast enough for a book this size.
  cargo install --quiet --debug --locked --no-default-features --version "$version" --root "$tools" mdbook
fi
[ "${1:-}" = "--install" ] && exit 0
"$mdbook" build docs
python3 scripts/check_book.py
