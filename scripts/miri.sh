#!/usr/bin/env bash
# Runs the runtime's tests under Miri (undefined behaviour and leak checks).
# Needs a nightly toolchain with the miri component:
#   rustup component add --toolchain nightly miri rust-src
#
# Skipped, because Miri cannot run them:
#   tests/ui.rs        trybuild invokes rustc as a child process
#   tests/no_abort.rs  each case re-runs the test binary as a child process
set -euo pipefail
cd "$(dirname "$0")/.."
export MIRIFLAGS="${MIRIFLAGS:-}"
tests=(stack_policies storage guards)
args=()
for t in "${tests[@]}"; do args+=(--test "$t"); done
cargo +nightly miri test -p exitstack-tests "${args[@]}"
cargo +nightly miri test -p exitstack --doc
