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
total() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" 2>&1 |
        sed -nE 's/.*Collected : ([0-9]+).*/\1/p'
}
empty=$(total empty)
empty_returning=$(total empty_returning)
echo "| form | instructions per call, beyond an empty function |"
echo "|---|---|"
for form in hand_written scopeguard_defer defer_macro cleanup_attribute cleanup_macro \
    scopeguard_guard value_guard defer_value_macro \
    scopeguard_guard_on_success value_guard_on_success \
    errdefer_hand_written errdefer_scope; do
    case $form in errdefer_*) base=$empty_returning ;; *) base=$empty ;; esac
    printf '| `%s` | %s |\n' "$form" "$(python3 -c "print(f'{($(total "$form") - $base) / $calls:.2f}')")"
done
