#!/usr/bin/env python3
"""Field values/s from one run of field_bench (and mongocrypt_bench, when built) next to
`openssl speed -aead -evp aes-256-gcm -bytes 64`, as a table with ratios.
  field_summary.py FIELD_JSON OPENSSL_OPS_PER_S [MONGOCRYPT_JSON]"""
import json
import sys


def rates(path):
    out = {}
    for b in json.load(open(path))["benchmarks"]:
        if b.get("run_type", "iteration") == "iteration" and "items_per_second" in b:
            out.setdefault(b["name"], []).append(b["items_per_second"])
    return {name: max(values) for name, values in out.items()}  # the raw EVP runs twice: keep the better


field = rates(sys.argv[1])
openssl = float(sys.argv[2])
mongo = rates(sys.argv[3]) if len(sys.argv) > 3 else {}
raw = field.get("BM_RawEvpGcm64")
mongo_for = {
    ("Encrypt", "randomized"): "BM_MongocryptEncrypt/random",
    ("Decrypt", "randomized"): "BM_MongocryptDecrypt/random",
    ("Encrypt", "deterministic"): "BM_MongocryptEncrypt/deterministic",
    ("Decrypt", "deterministic"): "BM_MongocryptDecrypt/deterministic",
}


def k(v):
    return f"{v / 1e6:.2f} M/s" if v >= 1e6 else f"{v / 1e3:.0f} k/s"


print("| 64-byte values, DEK cached | values/s | vs openssl speed -aead 64 B | vs raw EVP seal (same binary) | vs libmongocrypt |")
print("|---|---|---|---|---|")
print(f"| openssl speed -aead -evp aes-256-gcm -bytes 64 | {k(openssl)} | 1.00 | | |")
if raw:
    print(f"| raw EVP AES-256-GCM seal, 64 B (field_bench) | {k(raw)} | {raw / openssl:.2f} | 1.00 | |")
for name, value in field.items():
    if not name.startswith(("BM_KeyService", "BM_ClientField")):
        continue
    op, suite, families = name.split("/")
    layer = "public API" if op.startswith("BM_ClientField") else "KeyService"
    kind = op.replace("BM_KeyService", "").replace("BM_ClientField", "")
    base = "Decrypt" if kind.startswith("Decrypt") else "Encrypt"
    m = mongo.get(mongo_for[(base, suite)])
    label = f"keyward {layer} {kind.replace('DecryptExpectedScope', 'decrypt --scope').lower()} {suite}, {families.replace(':', ' ')}"
    print(f"| {label} | {k(value)} | {value / openssl:.2f} | {value / raw:.2f} | {f'{value / m:.1f}x' if m else ''} |")
for name, value in mongo.items():
    print(f"| libmongocrypt {name.replace('BM_Mongocrypt', '').lower()} (AEAD_AES_256_CBC_HMAC_SHA_512) | {k(value)} | {value / openssl:.2f} | | 1.00 |")
