#!/usr/bin/env python3
"""Field values of 64 bytes through the Python package: one value per call (field_encrypt,
field_decrypt) and batches of 1000 (field_encrypt_many, field_decrypt_many), one scope, DEK cached.
Prints one JSON object: values per second for each, the best of --repeat timed runs.

On the token named by KEYWARD_TOKEN holding KEK family "bench" (bench/run.sh makes one); the library
from KEYWARD_LIBRARY.
    python_field_bench.py CATALOG [--values N] [--repeat R]
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python"))
import keyward  # noqa: E402

SCOPE = "tenant:bench/table:users/column:email"
CONTEXT = {"table": "users", "column": "email"}
BATCH = 1000


def rate(values: int, run, repeat: int) -> float:
    """values/s of the fastest of `repeat` runs of `run` (each handles `values` values)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return values / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalog")
    parser.add_argument("--values", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    value = b"x" * 64
    n = args.values - args.values % BATCH
    with keyward.Client(catalog=args.catalog) as kw:
        texts = kw.field_encrypt_many(SCOPE, "bench", [value] * n, CONTEXT)
        batches = [texts[i:i + BATCH] for i in range(0, n, BATCH)]
        values_batch = [value] * BATCH

        def encrypt_each():
            for _ in range(n):
                kw.field_encrypt(SCOPE, "bench", value, CONTEXT)

        def decrypt_each():
            for text in texts:
                kw.field_decrypt(text, CONTEXT, scope=SCOPE)

        def encrypt_many():
            for _ in range(n // BATCH):
                kw.field_encrypt_many(SCOPE, "bench", values_batch, CONTEXT)

        def decrypt_many():
            for batch in batches:
                kw.field_decrypt_many(batch, CONTEXT, scope=SCOPE)

        result = {name: round(rate(n, run, args.repeat)) for name, run in (
            ("field_encrypt", encrypt_each), ("field_decrypt", decrypt_each),
            ("field_encrypt_many", encrypt_many), ("field_decrypt_many", decrypt_many))}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
