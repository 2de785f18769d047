#!/usr/bin/env bash
# Instructions per call of each way of writing one cleanup
# (benches/instructions.rs), counted by callgrind: deterministic, whatever
# else the machine does. Each form runs alone in its own process; the run of
# an empty function is subtracted, so what remains is the form's own cost.
# Needs valgrind and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(cargo bench --bench instructions --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "instructions" and m.get("executable"):
        print(m["executable"])')
calls=100000 # CALLS in benches/instructions.rs
# total FORM [CALLS]: instructions of the whole run.
total() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$@" 2>&1 |
        sed -nE 's/.*Collected : ([0-9]+).*/\1/p'
}
per() { python3 -c "print(f'{($1 - $2) / $3:.2f}')"; }
if [ "${1:-}" != "--stacks-only" ]; then
empty=$(total empty)
empty_returning=$(total empty_returning)
echo "| form | instructions per call, beyond an empty function |"
echo "|---|---|"
for form in hand_written scopeguard_defer defer_macro cleanup_attribute cleanup_macro \
    scopeguard_guard value_guard defer_value_macro \
    scopeguard_guard_on_success value_guard_on_success \
    errdefer_hand_written errdefer_scope; do
    case $form in errdefer_*) base=$empty_returning ;; *) base=$empty ;; esac
    printf '| `%s` | %s |\n' "$form" "$(per "$(total "$form")" "$base" "$calls")"
done
fi

# The stacks: n cleanups registered and run per call, about $calls cleanups
# per form (calls_for in benches/instructions.rs), an empty run of as many
# calls subtracted; the figure is per cleanup.
echo
echo "| form | n | instructions per cleanup |"
echo "|---|---|---|"
stack_forms=(
    "stack_exitstack 1 8 1000 100000"
    "stack_vec_guards 1 8 1000 100000"
    "stack_vec_box_dyn 1 8 1000"
    "stack_pop_all 1 8 1000"
    "stack_cancel 8 1000 100000"
    "scale_many_stacks 1000 8000 100000"
    "async_exitstack 1 8 1000"
    "async_vec_pin_box 1 8 1000"
)
declare -A empties
for line in "${stack_forms[@]}"; do
    read -r form ns <<<"$line"
    for n in $ns; do
        c=$((calls / n)); [ "$c" -lt 10 ] && c=10
        [ -z "${empties[$c]:-}" ] && empties[$c]=$(total empty "$c")
        printf '| `%s` | %s | %s |\n' "$form" "$n" "$(per "$(total "$form/$n" "$c")" "${empties[$c]}" $((c * n)))"
    done
done
