#!/usr/bin/env python3
"""Splits a chrome trace of LibTorch's autograd profiler by operation.

    build/release/tests/bench/bench_scale --profile /tmp/trace ...
    python3 scripts/profile_split.py /tmp/trace.<method>.<dtype>.json [rows]

Prints, in seconds: each operation's self time (its duration less its
children's), each backward node's inclusive time (the autograd engine's
"evaluate_function: <node>" ranges), and the self time of the operations
inside each backward node.
"""
import collections
import json
import sys

EVAL = "autograd::engine::evaluate_function: "


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    try:
        with open(sys.argv[1]) as f:
            events = [e for e in json.load(f) if e.get("ph") == "X"]
    except (OSError, ValueError) as err:
        sys.exit(f"{sys.argv[1]}: not a readable chrome trace: {err}")
    by_thread = collections.defaultdict(list)
    for e in events:
        by_thread[e["tid"]].append(e)
    self_time, calls, node_time, node_op = (collections.Counter() for _ in range(4))
    top = 0.0
    for es in by_thread.values():
        es.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []
        for e in es:
            e["child"] = 0.0
            while stack and stack[-1]["ts"] + stack[-1]["dur"] <= e["ts"]:
                stack.pop()
            if stack:
                stack[-1]["child"] += e["dur"]
            else:
                top += e["dur"]
            e["node"] = next((s["name"][len(EVAL):] for s in reversed(stack) if s["name"].startswith(EVAL)), None)
            stack.append(e)
        for e in es:
            own = e["dur"] - e["child"]
            self_time[e["name"]] += own
            calls[e["name"]] += 1
            if e["name"].startswith(EVAL):
                node_time[e["name"][len(EVAL):]] += e["dur"]
            if e["node"]:
                node_op[(e["node"], e["name"])] += own
    print(f"top-level ranges: {top / 1e6:.2f} s")
    print("\nself time by operation (s, calls)")
    for name, t in self_time.most_common(rows):
        print(f"{t / 1e6:9.2f} {calls[name]:8d}  {name}")
    print("\nbackward nodes, inclusive (s)")
    for name, t in node_time.most_common(rows):
        print(f"{t / 1e6:9.2f}  {name}")
    print("\nself time inside backward nodes (s)")
    for (node, name), t in node_op.most_common(rows):
        print(f"{t / 1e6:9.2f}  {node}  {name}")


if __name__ == "__main__":
    main()
