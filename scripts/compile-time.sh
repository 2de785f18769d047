#!/usr/bin/env bash
# Cold build time of a small user crate that depends on exitstack (default
# features, and without them), next to one that depends on scopeguard: each
# built three times in a fresh target directory, sources already downloaded.
# Prints the wall times in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

make_crate() { # name, dependency line, main.rs
    mkdir -p "$work/$1/src"
    printf '[package]\nname = "%s"\nversion = "0.0.0"\nedition = "2024"\n\n[dependencies]\n%s\n\n[workspace]\n' \
        "$1" "$2" >"$work/$1/Cargo.toml"
    printf '%s\n' "$3" >"$work/$1/src/main.rs"
}
make_crate with-exitstack "exitstack = { path = \"$root/exitstack\" }" \
    'fn main() { exitstack::defer!(println!("bye")); println!("hi"); }'
make_crate with-exitstack-no-default "exitstack = { path = \"$root/exitstack\", default-features = false }" \
    'fn main() { let _g = exitstack::Defer::new(|| println!("bye")); println!("hi"); }'
make_crate with-scopeguard 'scopeguard = "1.2.0"' \
    'fn main() { scopeguard::defer!(println!("bye")); println!("hi"); }'

for name in with-scopeguard with-exitstack-no-default with-exitstack; do
    (cd "$work/$name" && cargo fetch --quiet)
    times=()
    for _ in 1 2 3; do
        target=$(mktemp -d)
        start=$(date +%s.%N)
        (cd "$work/$name" && CARGO_TARGET_DIR="$target" cargo build --quiet)
        end=$(date +%s.%N)
        rm -rf "$target"
        times+=("$(python3 -c "print(f'{$end - $start:.2f}')")")
    done
    echo "$name: ${times[*]} s"
done
