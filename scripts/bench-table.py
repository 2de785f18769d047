#!/usr/bin/env python3
"""Prints the ratio table of BENCHMARKS.md from the medians that the last
`cargo bench --bench cleanup` run left in target/criterion.

Every ratio compares two measurements of the same run, so machine noise
that shifts a whole run cancels out. Usage:

    cargo bench --bench cleanup && python3 scripts/bench-table.py
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"


def median_ns(*parts):
    path = ROOT.joinpath(*parts, "new", "estimates.json")
    if not path.exists():
        return None
    return json.loads(path.read_text())["median"]["point_estimate"]


def fmt(ns):
    return "—" if ns is None else (f"{ns:.2f} ns" if ns < 1000 else f"{ns / 1000:.2f} µs")


def ratio(a, b):
    return "—" if a is None or b is None else f"{a / b:.2f}×"


def main():
    print("### Guards: one cleanup, ratio to the hand-written `Drop` guard\n")
    print("| form | median | ratio |")
    print("|---|---|---|")
    base = median_ns("guard", "hand_written")
    guard_dir = ROOT / "guard"
    names = sorted(p.name for p in guard_dir.iterdir() if p.is_dir() and p.name != "report") if guard_dir.exists() else []
    for name in ["hand_written"] + [n for n in names if n != "hand_written"]:
        value = median_ns("guard", name)
        print(f"| `{name}` | {fmt(value)} | {ratio(value, base)} |")

    print("\n### `ExitStack`: n small cleanups registered and run, per cleanup\n")
    print("| n | typed Vec of hand-written guards | `ExitStack` | `Vec<Box<dyn FnOnce()>>` "
          "| guards ÷ `ExitStack` | `Vec<Box>` ÷ `ExitStack` |")
    print("|---|---|---|---|---|---|")
    for n in ["1", "8", "1000", "100000"]:
        per = lambda v: None if v is None else v / int(n)
        guards = per(median_ns(f"stack_{n}", "vec_guards", n))
        stack = per(median_ns(f"stack_{n}", "exitstack", n))
        boxed = per(median_ns(f"stack_{n}", "vec_box_dyn", n))
        print(f"| {n} | {fmt(guards)} | {fmt(stack)} | {fmt(boxed)} | {ratio(guards, stack)} | {ratio(boxed, stack)} |")

    many = median_ns("many_stacks_1000x100", "exitstack")
    one = median_ns("stack_100000", "exitstack", "100000")
    print("\n### Scale: 100,000 entries, in one stack or in 1,000 stacks alive at once, per cleanup\n")
    print("| one stack | 1,000 stacks | 1,000 stacks ÷ one |")
    print("|---|---|---|")
    print(f"| {fmt(None if one is None else one / 1e5)} | {fmt(None if many is None else many / 1e5)} | {ratio(many, one)} |")

    stack = median_ns("async_8", "async_exitstack")
    pinned = median_ns("async_8", "vec_pin_box_future")
    print("\n### `AsyncExitStack`: 8 small async callbacks\n")
    print("| `AsyncExitStack` | `Vec<Pin<Box<dyn Future<Output = ()>>>>` | `Vec<Pin<Box>>` ÷ `AsyncExitStack` |")
    print("|---|---|---|")
    print(f"| {fmt(stack)} | {fmt(pinned)} | {ratio(pinned, stack)} |")

    stack = median_ns("large_8", "exitstack")
    boxed = median_ns("large_8", "vec_box_dyn")
    print("\n### Large closures (80 bytes captured), 8 of them\n")
    print("| `ExitStack` | `Vec<Box<dyn FnOnce()>>` | `Vec<Box>` ÷ `ExitStack` |")
    print("|---|---|---|")
    print(f"| {fmt(stack)} | {fmt(boxed)} | {ratio(boxed, stack)} |")


if __name__ == "__main__":
    sys.exit(main())
