#!/usr/bin/env bash
# The public API of both crates, as checked-in snapshots: api/exitstack.txt
# and api/exitstack-macros.txt, one line per public item (path, kind,
# signature; trait impls included), sorted by item. Made from rustdoc's JSON
# output (nightly: `--output-format json` is unstable) by
# scripts/public-api.py (Python 3, standard library only).
#
#   scripts/public-api.sh           rewrite the snapshots (after an API change;
#                                   commit them with it, so review shows it)
#   scripts/public-api.sh --check   fail, showing the diff, if they are stale (CI)
#
# Needs a nightly toolchain (`rustup toolchain install nightly --profile minimal`).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
    "") check=false ;;
    --check) check=true ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac
target=target/public-api
mkdir -p api "$target"
stale=()
for crate in exitstack exitstack-macros; do
    # Every feature: the snapshot lists all of the API (docs.rs shows which
    # feature each item needs).
    RUSTDOCFLAGS="" cargo +nightly rustdoc --quiet -p "$crate" --all-features --target-dir "$target" \
        -- -Z unstable-options --output-format json
    python3 scripts/public-api.py "$target/doc/${crate//-/_}.json" >"$target/$crate.txt"
    if $check; then
        if ! diff -u "api/$crate.txt" "$target/$crate.txt"; then
            stale+=("$crate")
        fi
    else
        cp "$target/$crate.txt" "api/$crate.txt"
        echo "api/$crate.txt: $(wc -l <"api/$crate.txt") lines"
    fi
done
if [ ${#stale[@]} -gt 0 ]; then
    echo "the public API of ${stale[*]} differs from api/ (diff above): if the change is" >&2
    echo "intended, run scripts/public-api.sh and commit api/ with it" >&2
    exit 1
fi
