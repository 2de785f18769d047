#!/usr/bin/env bash
# Runs the test suite under Miri: undefined behaviour (Stacked Borrows, and
# Tree Borrows for the core's tests) and leak checks (Miri fails a test binary that ends with memory still
# allocated). Needs a nightly toolchain with the miri component:
#   rustup component add --toolchain nightly miri rust-src
#
# Skipped, because Miri cannot run them:
#   verify/ui                 trybuild invokes rustc as a child process
#   tests/no_abort.rs         each case re-runs the test binary as a child process
#   tests/no_abort_matrix.rs  the same, one child process per cell
#   tests/verify_edges.rs     only its `in_child_processes` module (compiled
#                             out under cfg(miri)); the rest runs
#   benches/, examples/       not tests (the examples' code is in the doc tests)
# Run apart:
#   tests/forget.rs           leaks on purpose, so without the leak check
#   verify/no-std             exitstack built without std (its own workspace)
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
    stack_policies storage guards value_guards alloc_count lints soundness
    macros_defer macros_cleanup macros_scope macros_async
    verify_edges
)
args=()
for t in "${tests[@]}"; do args+=(--test "$t"); done
# The core's own tests also run under Tree Borrows, the aliasing model that
# may replace Stacked Borrows: an `unsafe` argument must hold under both.
core_args=(--test stack_policies --test storage --test soundness --test verify_edges)
base="$MIRIFLAGS"
for borrows in "" "-Zmiri-tree-borrows"; do
    echo "Miri ${borrows:-(Stacked Borrows)}"
    if [ -z "$borrows" ]; then
        MIRIFLAGS="$base" cargo +nightly miri test -p exitstack-tests "${args[@]}"
    else
        MIRIFLAGS="$base $borrows" cargo +nightly miri test -p exitstack-tests "${core_args[@]}"
    fi
    # tests/forget.rs and the model forget on purpose (mem::forget): no
    # leak check for them. The model (slow under Miri) runs once.
    model=()
    [ -z "$borrows" ] && model=(--test model)
    MIRIFLAGS="$base $borrows -Zmiri-ignore-leaks" \
        cargo +nightly miri test -p exitstack-tests --test forget "${model[@]}"
    # exitstack without std, panics caught (its own workspace).
    MIRIFLAGS="$base $borrows" \
        cargo +nightly miri test --manifest-path verify/no-std/Cargo.toml --target-dir target/no-std
done
cargo +nightly miri test -p exitstack --doc
