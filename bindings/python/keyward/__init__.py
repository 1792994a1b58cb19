"""keyward for Python: field and file encryption under the token's key hierarchy.

A thin layer (standard library only: :mod:`ctypes`) over libkeyward.so's C ABI
(``<keyward/keyward_c.h>``). The library is found through ``$KEYWARD_LIBRARY`` (a path), else the
loader's normal search path (``libkeyward.so.0``).

Example::

    import keyward

    with keyward.Client(catalog="app-catalog.db") as kw:      # token: $KEYWARD_TOKEN
        ctx = {"table": "users", "column": "email"}
        text = kw.field_encrypt("tenant:acme/users/email", "payments", b"alice@example.com", ctx)
        assert kw.field_decrypt(text, ctx, scope="tenant:acme/users/email") == b"alice@example.com"

Failures raise :class:`Error` with ``.code`` (1 data or policy failure, 2 usage, 3 token/HSM/database,
the tools' exit codes) and ``.message``.

Threads: one :class:`Client` may be used from any number of threads at once (the C client is
thread-safe, and ctypes releases the GIL during each call). :meth:`Client.close` waits for the calls
running on the client to return; calls after it raise :class:`Error` (code 2).
"""

from __future__ import annotations

import ctypes
import os
import threading
from typing import Iterable, List, Mapping, Optional, Union

from ._native import load_library

__all__ = ["Client", "Error", "OK", "FAILED", "USAGE", "INFRASTRUCTURE"]

OK = 0
FAILED = 1
USAGE = 2
INFRASTRUCTURE = 3

StrPath = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
Context = Optional[Mapping[str, str]]

_lib: Optional[ctypes.CDLL] = None
_lib_lock = threading.Lock()


def _library() -> ctypes.CDLL:
    global _lib
    with _lib_lock:
        if _lib is None:
            _lib = load_library()
        return _lib


class Error(Exception):
    """A keyward failure: ``code`` is 1 (data or policy), 2 (usage) or 3 (token, HSM or database);
    ``message`` names the cause (never key bytes, PINs or plaintext)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"keyward error {self.code}: {self.message}"


def _last_error(lib: ctypes.CDLL, status: int) -> Error:
    raw = lib.kw_last_error()
    message = raw.decode("utf-8", "replace") if raw else ""
    return Error(status, message or f"keyward call failed with status {status}")


def _text(value: Optional[str], what: str) -> Optional[bytes]:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"keyward: {what} must be a str, not {type(value).__name__}")
    return value.encode("utf-8")


def _context(context: Context) -> Optional[ctypes.Array]:
    """A dict as the C ABI's NULL-terminated array of alternating key, value strings."""
    if context is None:
        return None
    items = []
    for key, value in context.items():
        items.append(_text(key, "a context key"))
        items.append(_text(value, "a context value"))
    array = (ctypes.c_char_p * (len(items) + 1))(*items, None)
    return array


def _path(path: StrPath) -> bytes:
    return os.fsencode(path)


def _token(token: Union[None, str, Iterable[str]]) -> Optional[bytes]:
    if token is None or isinstance(token, str):
        return _text(token, "token")
    return " ".join(token).encode("utf-8")


class Client:
    """A client of one token (and its replicas): logs in on creation, closes with :meth:`close` or
    at the end of a ``with`` block.

    ``token``: a PKCS#11 URI (RFC 7512) or several (a space-separated str or a list) of one token,
    each with a ``pin-source``; None uses ``$KEYWARD_TOKEN``. ``catalog``: the SQLite file of field
    DEKs (None: ``$KEYWARD_CATALOG``, else ``keyward-catalog.db`` in the working directory).
    Raises :class:`Error` (3 when the module, token or login fails; 2 for malformed URIs).
    """

    def __init__(self, token: Union[None, str, Iterable[str]] = None, catalog: Optional[StrPath] = None) -> None:
        self._lib = _library()
        self._handle: Optional[int] = None
        self._cond = threading.Condition()
        self._active = 0
        handle = ctypes.c_void_p()
        catalog_arg = None if catalog is None else _path(catalog)
        status = self._lib.kw_open(_token(token), catalog_arg, ctypes.byref(handle))
        if status != OK:
            raise _last_error(self._lib, status)
        self._handle = handle.value

    # -- lifetime ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the client (waits for running calls; a second close is a no-op)."""
        with self._cond:
            handle, self._handle = self._handle, None
            while self._active:
                self._cond.wait()
        if handle is not None:
            self._lib.kw_close(handle)

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._handle is None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def _acquire(self) -> int:
        with self._cond:
            if self._handle is None:
                raise Error(USAGE, "usage: the keyward client is closed")
            self._active += 1
            return self._handle

    def _release(self) -> None:
        with self._cond:
            self._active -= 1
            if not self._active:
                self._cond.notify_all()

    # -- fields -----------------------------------------------------------------------------------

    def field_encrypt(self, scope: str, kek: str, value: bytes, context: Context = None,
                      deterministic: bool = False) -> str:
        """Encrypts one field value (at most 64 KiB) under ``scope``'s DEK (created under KEK family
        ``kek`` on the scope's first use) and returns its value text. ``deterministic``: AES-256-SIV
        (equal values give equal texts), else randomized AES-256-GCM. ``context`` (str → str) is bound
        to the text: decryption needs the same pairs."""
        data = bytes(value)
        scope_b, kek_b, ctx = _text(scope, "scope"), _text(kek, "kek"), _context(context)
        out = ctypes.c_void_p()
        handle = self._acquire()
        try:
            status = self._lib.kw_field_encrypt(handle, scope_b, kek_b, 1 if deterministic else 0, data, len(data),
                                                ctx, ctypes.byref(out))
            if status != OK:
                raise _last_error(self._lib, status)
        finally:
            self._release()
        try:
            return ctypes.string_at(out.value).decode("ascii")
        finally:
            self._lib.kw_free(out)

    def field_decrypt(self, value: str, context: Context = None, scope: Optional[str] = None) -> bytes:
        """Decrypts a value text with the context it was encrypted with; ``scope``, if given, is the
        scope the value must belong to. Raises :class:`Error` (1) for a tampered value, a wrong context
        or a value of another scope; no plaintext is released then."""
        text_b, scope_b, ctx = _text(value, "value"), _text(scope, "scope"), _context(context)
        out = ctypes.c_void_p()
        out_len = ctypes.c_size_t()
        handle = self._acquire()
        try:
            status = self._lib.kw_field_decrypt(handle, text_b, scope_b, ctx, ctypes.byref(out), ctypes.byref(out_len))
            if status != OK:
                raise _last_error(self._lib, status)
        finally:
            self._release()
        try:
            return ctypes.string_at(out.value, out_len.value) if out_len.value else b""
        finally:
            self._lib.kw_free(out)

    def field_encrypt_many(self, scope: str, kek: str, values: Iterable[bytes], context: Context = None,
                           deterministic: bool = False) -> List[str]:
        """:meth:`field_encrypt` for many values of one scope in one library call (the ctypes call is
        what costs most per value). Returns the texts in order. All or nothing: the first value that
        fails raises :class:`Error` naming its index ("value 17: ...") and no text is returned."""
        data = [bytes(value) for value in values]
        scope_b, kek_b, ctx = _text(scope, "scope"), _text(kek, "kek"), _context(context)
        lengths = (ctypes.c_size_t * len(data))(*map(len, data))
        out = ctypes.c_void_p()
        out_size = ctypes.c_size_t()
        handle = self._acquire()
        try:
            status = self._lib.kw_field_encrypt_batch(handle, scope_b, kek_b, 1 if deterministic else 0, b"".join(data),
                                                      lengths, len(data), ctx, ctypes.byref(out),
                                                      ctypes.byref(out_size))
            if status != OK:
                raise _last_error(self._lib, status)
        finally:
            self._release()
        try:
            texts = ctypes.string_at(out.value, out_size.value)
        finally:
            self._lib.kw_free(out)
        return texts.decode("ascii").split("\0")[:-1] if data else []

    def field_decrypt_many(self, values: Iterable[str], context: Context = None,
                           scope: Optional[str] = None) -> List[bytes]:
        """:meth:`field_decrypt` for many value texts in one library call; returns the values in
        order. All or nothing: a tampered value, a wrong context or a value of another scope raises
        :class:`Error` (1) naming its index, and no plaintext is released."""
        texts = [_text(value, "value") for value in values]
        if any(b"\0" in text for text in texts):
            raise Error(USAGE, "usage: a value text contains a NUL character")
        joined = b"".join(text + b"\0" for text in texts)
        scope_b, ctx = _text(scope, "scope"), _context(context)
        lengths = (ctypes.c_size_t * len(texts))()
        out = ctypes.c_void_p()
        handle = self._acquire()
        try:
            status = self._lib.kw_field_decrypt_batch(handle, joined, len(joined), len(texts), scope_b, ctx,
                                                      ctypes.byref(out), lengths)
            if status != OK:
                raise _last_error(self._lib, status)
        finally:
            self._release()
        try:
            plain = ctypes.string_at(out.value, sum(lengths))
        finally:
            self._lib.kw_free(out)
        values_out = []
        at = 0
        for length in lengths:
            values_out.append(plain[at:at + length])
            at += length
        return values_out

    # -- files ------------------------------------------------------------------------------------

    def encrypt_file(self, kek: str, src: StrPath, dst: StrPath, context: Context = None) -> None:
        """Encrypts ``src`` into ``dst`` (atomic, mode 0600; an existing ``dst`` is refused: code 2)
        under a fresh DEK wrapped by KEK family ``kek``'s newest version. ``"-"`` is stdin / stdout."""
        kek_b, src_b, dst_b, ctx = _text(kek, "kek"), _path(src), _path(dst), _context(context)
        self._call(self._lib.kw_encrypt_file, kek_b, src_b, dst_b, ctx)

    def decrypt_file(self, src: StrPath, dst: StrPath, context: Context = None) -> None:
        """Decrypts the envelope file ``src`` into ``dst`` with the context it was encrypted with;
        ``dst`` appears only after every segment verified (a tampered file is code 1)."""
        src_b, dst_b, ctx = _path(src), _path(dst), _context(context)
        self._call(self._lib.kw_decrypt_file, src_b, dst_b, ctx)

    def _call(self, fn, *args) -> None:
        handle = self._acquire()
        try:
            status = fn(handle, *args)
            if status != OK:
                raise _last_error(self._lib, status)
        finally:
            self._release()
