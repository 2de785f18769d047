#!/usr/bin/env bash
# Leak check with valgrind (memcheck) over the panic paths and the pop_all
# paths, on real test binaries (Miri's leak checker covers the same tests in
# scripts/miri.sh; this one also runs the thousands of random programs that
# Miri is too slow for). Any leak that is definitely, indirectly or possibly
# lost, or any invalid read or write, fails it. Needs valgrind:
#   apt-get install valgrind
#
# What runs, each test binary on one thread:
#   tests/model.rs           1,000 random programs (PROPTEST_CASES overrides):
#                            panicking entries, close, drop, drop while
#                            unwinding, scope, pop_all, nested stacks
#   tests/stack_policies.rs  every policy test, panics included
#   tests/storage.rs         inline slots and chunks moved by pop_all
#   tests/verify_edges.rs    re-entrant cancel, hostile payloads (in-process)
#   tests/guards.rs          guards unwinding
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
tests=(model stack_policies storage verify_edges guards)
args=()
for t in "${tests[@]}"; do args+=(--test "$t"); done
# The executables, from cargo's JSON messages.
mapfile -t binaries < <(
    cargo test -p exitstack-tests "${args[@]}" --no-run --message-format=json 2>/dev/null |
        grep -o '"executable":"[^"]*"' | sed 's/^"executable":"//; s/"$//'
)
[ "${#binaries[@]}" -eq "${#tests[@]}" ] || { echo "expected ${#tests[@]} test binaries" >&2; exit 1; }
export PROPTEST_CASES="${PROPTEST_CASES:-1000}"
# The one allocation std keeps for the main thread's handle is reported as
# "possibly lost" (std holds it by a pointer valgrind does not recognise).
suppressions=$(mktemp)
trap 'rm -f "$suppressions"' EXIT
cat > "$suppressions" <<'SUPP'
{
   std-main-thread-handle
   Memcheck:Leak
   match-leak-kinds: possible
   ...
   fun:*init_current*
}
SUPP
memcheck() {
    valgrind --quiet --error-exitcode=99 \
        --leak-check=full --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect,possible \
        --suppressions="$suppressions" "$@"
}
for bin in "${binaries[@]}"; do
    echo "==> valgrind $(basename "$bin")"
    # The tests that spawn children are skipped (valgrind follows no child
    # here), and so are the model's that forget on purpose (Miri runs them,
    # without its leak check).
    memcheck "$bin" --test-threads=1 \
        --skip random_programs_match_the_model --skip in_child_processes:: \
        --skip forgotten_ --skip interrupted_aclose --skip async_scope_with_a_panicking_body
    case $(basename "$bin") in
    model-*)
        # The random programs, in process (the ignored child test, named
        # as its parent would), with their `mem::forget`s turned into drops.
        echo "==> valgrind $(basename "$bin"): random programs, no forgets"
        EXITSTACK_CHILD=child_random_programs EXITSTACK_MODEL_NO_FORGET=1 \
            memcheck "$bin" --test-threads=1 --ignored --exact child_random_programs
        ;;
    esac
done
echo "valgrind: no leaks and no memory errors in ${#binaries[@]} test binaries"
