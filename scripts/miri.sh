#!/usr/bin/env bash
# Runs the test suite under Miri: undefined behaviour (Stacked Borrows) and
# leak checks (Miri fails a test binary that ends with memory still
# allocated). Needs a nightly toolchain with the miri component:
#   rustup component add --toolchain nightly miri rust-src
#
# Skipped, because Miri cannot run them:
#   tests/ui.rs               trybuild invokes rustc as a child process
#   tests/no_abort.rs         each case re-runs the test binary as a child process
#   tests/no_abort_matrix.rs  the same, one child process per cell
#   tests/verify_edges.rs     only its `in_child_processes` module (compiled
#                             out under cfg(miri)); the rest runs
#   benches/, examples/       not tests (the examples' code is in the doc tests)
# Reduced under Miri (cfg(miri)), which runs about a thousand times slower:
#   tests/model.rs            40 random programs instead of 10,000, in-process
#                             (PROPTEST_CASES overrides; it is forwarded below)
#   tests/stack_policies.rs   2,000 entries instead of 100,000 for policy 6
# Run on its own, without the leak check:
#   tests/model.rs            its programs mem::forget stacks, guards and aclose()
#                             futures on purpose (that nothing of theirs runs or
#                             drops afterwards is what it checks): the leaks are
#                             the point, so Miri's leak checker, which fails a
#                             binary that ends with memory still allocated, is
#                             off for that one invocation (-Zmiri-ignore-leaks);
#                             the other tests keep it
set -euo pipefail
cd "$(dirname "$0")/.."
# Isolation stays on (the default): tests see no host clock, files or
# randomness. PROPTEST_CASES is forwarded when set, so a longer model run is
#   PROPTEST_CASES=200 scripts/miri.sh
export MIRIFLAGS="${MIRIFLAGS:-}${PROPTEST_CASES:+ -Zmiri-env-forward=PROPTEST_CASES}"
tests=(
    stack_policies storage guards alloc_count lints
    macros_defer macros_cleanup macros_scope macros_async
    verify_edges
)
args=()
for t in "${tests[@]}"; do args+=(--test "$t"); done
cargo +nightly miri test -p exitstack-tests "${args[@]}"
# model forgets on purpose: no leak check for it (see above).
MIRIFLAGS="$MIRIFLAGS -Zmiri-ignore-leaks" \
    cargo +nightly miri test -p exitstack-tests --test model
cargo +nightly miri test -p exitstack --doc
