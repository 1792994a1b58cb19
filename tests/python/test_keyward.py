"""Tests of the Python package over libkeyward.so, against a fresh SoftHSM token with a root and KEK.

Run by ctest as python.softhsm with KEYWARD_LIBRARY, PYTHONPATH, KEYWARD_BIN_DIR, KEYWARD_SOURCE_DIR and
KEYWARD_TEST_TMP set (tests/CMakeLists.txt)."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import unittest

import keyward

SCOPE = "tenant:acme/users/email"
CTX = {"table": "users", "column": "email"}
SECRET = b"alice-secret@example.com"


def _env_file(path: str) -> dict:
    """The exports of make-token.sh's env file (export NAME='value')."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("export ") and "=" in line:
                name, value = line[len("export "):].split("=", 1)
                env[name] = value.strip("'\"")
    return env


def setUpModule() -> None:
    global WORK, TOKEN
    bin_dir = os.environ["KEYWARD_BIN_DIR"]
    source_dir = os.environ["KEYWARD_SOURCE_DIR"]
    tmp = os.environ["KEYWARD_TEST_TMP"]
    os.makedirs(tmp, exist_ok=True)
    WORK = tempfile.mkdtemp(prefix="python_test.", dir=tmp)
    token_dir = os.path.join(WORK, "token")
    subprocess.run([os.path.join(source_dir, "softhsm-conf", "make-token.sh"), "--dir", token_dir,
                    "--label", "keyward-python", "--bin", bin_dir, "--quiet", "--force"], check=True)
    os.environ.update(_env_file(os.path.join(token_dir, "env")))
    TOKEN = os.environ["KEYWARD_TOKEN"]
    transcript = os.path.join(WORK, "t.jsonl")
    ceremony = os.path.join(bin_dir, "keyward-ceremony")
    audit = ["--audit", os.path.join(WORK, "audit.jsonl")]  # the tools' audit log, not in the working directory
    subprocess.run([ceremony, "init", "--transcript", transcript] + audit, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([ceremony, "kek", "create", "payments", "--transcript", transcript] + audit, check=True,
                   stdout=subprocess.DEVNULL)


class ClientTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(dir=WORK)
        self.client = keyward.Client(TOKEN, catalog=os.path.join(self.dir, "catalog.db"))

    def tearDown(self) -> None:
        self.client.close()

    def assertFails(self, code: int, fn, *args, **kwargs) -> keyward.Error:
        with self.assertRaises(keyward.Error) as cm:
            fn(*args, **kwargs)
        err = cm.exception
        self.assertEqual(err.code, code, err.message)
        self.assertTrue(err.message)
        self.assertNotIn(SECRET.decode(), err.message)
        self.assertNotIn(SECRET.decode(), str(err))
        return err

    # -- fields -----------------------------------------------------------------------------------

    def test_randomized_round_trip(self) -> None:
        a = self.client.field_encrypt(SCOPE, "payments", SECRET, CTX)
        b = self.client.field_encrypt(SCOPE, "payments", SECRET, CTX)
        self.assertIsInstance(a, str)
        self.assertNotEqual(a, b)
        self.assertNotIn(SECRET.decode(), a)
        self.assertEqual(self.client.field_decrypt(a, CTX), SECRET)
        self.assertEqual(self.client.field_decrypt(b, dict(reversed(list(CTX.items()))), scope=SCOPE), SECRET)

    def test_deterministic_equal_texts(self) -> None:
        a = self.client.field_encrypt(SCOPE, "payments", SECRET, CTX, deterministic=True)
        b = self.client.field_encrypt(SCOPE, "payments", SECRET, CTX, deterministic=True)
        self.assertEqual(a, b)
        self.assertEqual(self.client.field_decrypt(a, CTX, scope=SCOPE), SECRET)

    def test_bytes_with_nuls_and_empty(self) -> None:
        for value in (b"\x00a\x00b\x00", b"\x00", b"", bytes(range(256))):
            text = self.client.field_encrypt(SCOPE, "payments", value)
            self.assertEqual(self.client.field_decrypt(text), value)

    def test_context_mismatch(self) -> None:
        text = self.client.field_encrypt(SCOPE, "payments", SECRET, CTX)
        self.assertFails(1, self.client.field_decrypt, text, {"table": "users", "column": "phone"})
        self.assertFails(1, self.client.field_decrypt, text)

    def test_another_scope(self) -> None:
        text = self.client.field_encrypt(SCOPE, "payments", SECRET, CTX)
        self.assertFails(1, self.client.field_decrypt, text, CTX, scope="tenant:other/users/email")

    def test_tampered_value(self) -> None:
        text = self.client.field_encrypt(SCOPE, "payments", SECRET, CTX)
        i = len(text) - 5
        tampered = text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1:]
        self.assertFails(1, self.client.field_decrypt, tampered, CTX)
        self.assertFails(1, self.client.field_decrypt, "not a value", CTX)

    def test_usage_errors(self) -> None:
        self.assertFails(2, self.client.field_encrypt, "", "payments", SECRET)
        self.assertFails(2, self.client.field_encrypt, SCOPE, "", SECRET)
        self.assertFails(2, self.client.field_decrypt, "x", None, "")
        self.assertFails(2, self.client.field_encrypt, SCOPE, "payments", SECRET, {"": "v"})

    def test_unknown_kek(self) -> None:
        # keyward_c.h: an unknown KEK family is KW_FAILED.
        self.assertFails(1, self.client.field_encrypt, "tenant:acme/other", "no-such-kek", SECRET)
        src = os.path.join(self.dir, "plain")
        with open(src, "wb") as f:
            f.write(SECRET)
        self.assertFails(1, self.client.encrypt_file, "no-such-kek", src, os.path.join(self.dir, "enc"))

    def test_batches_round_trip(self) -> None:
        values = [f"user{i}@example.com".encode() for i in range(50)] + [b"", b"\x00\x01\x00"]
        for deterministic in (False, True):
            texts = self.client.field_encrypt_many(SCOPE, "payments", values, CTX, deterministic=deterministic)
            self.assertEqual(len(texts), len(values))
            self.assertEqual(self.client.field_decrypt(texts[3], CTX, scope=SCOPE), values[3])
            if deterministic:
                self.assertEqual(texts[3], self.client.field_encrypt(SCOPE, "payments", values[3], CTX, deterministic=True))
            self.assertEqual(self.client.field_decrypt_many(texts, CTX, scope=SCOPE), values)
        self.assertEqual(self.client.field_encrypt_many(SCOPE, "payments", []), [])
        self.assertEqual(self.client.field_decrypt_many([]), [])

    def test_batch_failures_name_the_value(self) -> None:
        texts = self.client.field_encrypt_many(SCOPE, "payments", [b"a", b"b", SECRET], CTX)
        i = len(texts[2]) - 5
        tampered = texts[:2] + [texts[2][:i] + ("A" if texts[2][i] != "A" else "B") + texts[2][i + 1:]]
        err = self.assertFails(1, self.client.field_decrypt_many, tampered, CTX)
        self.assertIn("value 2", err.message)
        self.assertFails(1, self.client.field_decrypt_many, texts, {"table": "users", "column": "phone"})
        self.assertFails(1, self.client.field_decrypt_many, texts, CTX, scope="tenant:other/users/email")
        self.assertFails(2, self.client.field_decrypt_many, ["a\0b"], CTX)
        self.assertFails(2, self.client.field_encrypt_many, "", "payments", [SECRET])
        self.assertFails(1, self.client.field_encrypt_many, "tenant:acme/new", "no-such-kek", [SECRET])

    def test_threads_share_a_client(self) -> None:
        errors = []

        def work(n: int) -> None:
            try:
                for i in range(50):
                    value = f"{n}-{i}".encode()
                    text = self.client.field_encrypt(SCOPE, "payments", value, CTX)
                    if self.client.field_decrypt(text, CTX, scope=SCOPE) != value:
                        errors.append(f"{n}-{i} mismatch")
            except Exception as e:  # pragma: no cover - reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])

    # -- files ------------------------------------------------------------------------------------

    def _plain_file(self) -> str:
        src = os.path.join(self.dir, "plain")
        with open(src, "wb") as f:
            f.write(SECRET * 1000 + b"\x00tail")
        return src

    def test_file_round_trip(self) -> None:
        src = self._plain_file()
        enc, out = os.path.join(self.dir, "enc"), os.path.join(self.dir, "out")
        self.client.encrypt_file("payments", src, enc, CTX)
        self.assertEqual(os.stat(enc).st_mode & 0o777, 0o600)
        self.client.decrypt_file(enc, out, CTX)
        with open(src, "rb") as a, open(out, "rb") as b:
            self.assertEqual(a.read(), b.read())
        self.assertFails(1, self.client.decrypt_file, enc, os.path.join(self.dir, "out2"), {"x": "y"})
        self.assertFalse(os.path.exists(os.path.join(self.dir, "out2")))

    def test_tampered_file(self) -> None:
        src = self._plain_file()
        enc, out = os.path.join(self.dir, "enc"), os.path.join(self.dir, "out")
        self.client.encrypt_file("payments", src, enc)
        with open(enc, "r+b") as f:
            f.seek(os.path.getsize(enc) // 2)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0x01]))
        self.assertFails(1, self.client.decrypt_file, enc, out)
        self.assertFalse(os.path.exists(out))

    def test_existing_output_refused(self) -> None:
        src = self._plain_file()
        enc = os.path.join(self.dir, "enc")
        with open(enc, "wb") as f:
            f.write(b"keep me")
        # keyward_c.h: an existing out_path is KW_USAGE.
        self.assertFails(2, self.client.encrypt_file, "payments", src, enc)
        with open(enc, "rb") as f:
            self.assertEqual(f.read(), b"keep me")

    # -- lifetime ---------------------------------------------------------------------------------

    def test_use_after_close(self) -> None:
        self.client.close()
        self.assertTrue(self.client.closed)
        self.assertFails(2, self.client.field_encrypt, SCOPE, "payments", SECRET)
        self.assertFails(2, self.client.field_decrypt, "x")
        self.client.close()  # a second close is a no-op

    def test_context_manager_closes(self) -> None:
        with keyward.Client(TOKEN, catalog=os.path.join(self.dir, "c2.db")) as c:
            text = c.field_encrypt(SCOPE, "payments", SECRET, CTX)
            self.assertEqual(c.field_decrypt(text, CTX), SECRET)
        self.assertTrue(c.closed)
        self.assertFails(2, c.field_decrypt, text, CTX)

    def test_token_list(self) -> None:
        with keyward.Client([TOKEN], catalog=os.path.join(self.dir, "c3.db")) as c:
            self.assertEqual(c.field_decrypt(c.field_encrypt(SCOPE, "payments", b"x")), b"x")


class OpenTest(unittest.TestCase):
    def test_bad_token(self) -> None:
        bad = TOKEN.replace("token=keyward-python", "token=no-such-token")
        self.assertNotEqual(bad, TOKEN)
        with self.assertRaises(keyward.Error) as cm:
            keyward.Client(bad)
        self.assertEqual(cm.exception.code, 3)
        self.assertTrue(cm.exception.message)

    def test_malformed_token(self) -> None:
        with self.assertRaises(keyward.Error) as cm:
            keyward.Client("not-a-uri")
        self.assertEqual(cm.exception.code, 2)

    def test_default_token_from_env(self) -> None:
        with tempfile.TemporaryDirectory(dir=WORK) as d:
            with keyward.Client(catalog=os.path.join(d, "c.db")) as c:
                self.assertEqual(c.field_decrypt(c.field_encrypt(SCOPE, "payments", b"y")), b"y")


if __name__ == "__main__":
    unittest.main()
