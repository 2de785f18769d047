#!/usr/bin/env bash
# `panic = "abort"`: the runtime crate builds with `-C panic=abort` (default
# features, `alloc` only, and bare `no_std`), and verify/panic-abort — a
# binary, since stable libtest cannot run tests with panic=abort — checks
# that every non-panicking policy holds and that a panic aborts at once.
# With a nightly toolchain, the model tests (tests/model.rs) also run with
# panic=abort: 10,000 random programs that never panic.
#
# The flags go to the host target given explicitly, so that they reach only
# target code: the proc-macro crate and build scripts run inside the
# compiler and keep unwinding. The artifacts land in target/<host>/, apart
# from the ordinary ones.
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(rustc -vV | sed -n 's/^host: //p')
flags="${RUSTFLAGS:-} -C panic=abort"
RUSTFLAGS="$flags" cargo build -p exitstack --target "$host"
RUSTFLAGS="$flags" cargo build -p exitstack --target "$host" --no-default-features --features alloc
RUSTFLAGS="$flags" cargo build -p exitstack --target "$host" --no-default-features
RUSTFLAGS="$flags" cargo run -p exitstack-verify-panic-abort --target "$host"
if cargo +nightly --version >/dev/null 2>&1; then
    # Each test runs in its own process; the tests that panic on purpose
    # are ignored under cfg(panic = "abort").
    RUSTFLAGS="$flags -Z panic-abort-tests" \
        cargo +nightly test -Z panic-abort-tests --target "$host" -p exitstack-tests --test model
else
    echo "no nightly toolchain: the model tests did not run with panic=abort" >&2
fi
