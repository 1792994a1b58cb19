#!/usr/bin/env python3
"""Summary of bench/c_abi_bench's JSON and bench/python_field_bench.py's line: values/s of each path
and its ratio to the C++ API in the same run (each benchmark ran twice; the better run counts).
    c_abi_summary.py C_ABI_JSON PYTHON_JSON_LINE_FILE
"""
import json
import sys


def best_rates(path: str) -> dict:
    rates: dict = {}
    for run in json.load(open(path))["benchmarks"]:
        name = run["name"].split("/")[0]
        rates[name] = max(rates.get(name, 0.0), run.get("items_per_second", 0.0))
    return rates


def main() -> int:
    c = best_rates(sys.argv[1])
    py = json.loads(open(sys.argv[2]).read())
    print(f"{'path':<34}{'values/s':>12}{'× C++ API':>12}")
    for op in ("Encrypt", "Decrypt"):
        cpp = c[f"BM_CppField{op}"]
        rows = [(f"C++ API Field::{op.lower()}", cpp), (f"C ABI kw_field_{op.lower()}", c[f"BM_CAbiField{op}"]),
                (f"C ABI kw_field_{op.lower()}_batch", c[f"BM_CAbiField{op}Batch"]),
                (f"Python field_{op.lower()}", py[f"field_{op.lower()}"]),
                (f"Python field_{op.lower()}_many", py[f"field_{op.lower()}_many"])]
        for name, rate in rows:
            print(f"{name:<34}{rate:>12,.0f}{rate / cpp:>12.2f}")
    print("targets: C ABI >= 0.9x the C++ API; Python >= 100,000 values/s per process")
    return 0


if __name__ == "__main__":
    sys.exit(main())
