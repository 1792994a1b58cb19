"""The ctypes declarations of libkeyward.so's C ABI (``<keyward/keyward_c.h>``)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import pathlib

__all__ = ["load_library"]

_c_char_pp = ctypes.POINTER(ctypes.c_char_p)
_u8_p = ctypes.POINTER(ctypes.c_ubyte)


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    """Declares argtypes and restype of every kw_* function (a wrong call fails in Python, not in C)."""
    client_p = ctypes.c_void_p
    lib.kw_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(client_p)]
    lib.kw_open.restype = ctypes.c_int
    lib.kw_close.argtypes = [client_p]
    lib.kw_close.restype = None
    lib.kw_last_error.argtypes = []
    lib.kw_last_error.restype = ctypes.c_char_p
    lib.kw_free.argtypes = [ctypes.c_void_p]
    lib.kw_free.restype = None
    lib.kw_field_encrypt.argtypes = [client_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int,
                                     ctypes.c_char_p, ctypes.c_size_t, _c_char_pp,
                                     ctypes.POINTER(ctypes.c_void_p)]
    lib.kw_field_encrypt.restype = ctypes.c_int
    lib.kw_field_decrypt.argtypes = [client_p, ctypes.c_char_p, ctypes.c_char_p, _c_char_pp,
                                     ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t)]
    lib.kw_field_decrypt.restype = ctypes.c_int
    lib.kw_field_encrypt_batch.argtypes = [client_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int,
                                           ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_size_t,
                                           _c_char_pp, ctypes.POINTER(ctypes.c_void_p),
                                           ctypes.POINTER(ctypes.c_size_t)]
    lib.kw_field_encrypt_batch.restype = ctypes.c_int
    lib.kw_field_decrypt_batch.argtypes = [client_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_size_t,
                                           ctypes.c_char_p, _c_char_pp, ctypes.POINTER(ctypes.c_void_p),
                                           ctypes.POINTER(ctypes.c_size_t)]
    lib.kw_field_decrypt_batch.restype = ctypes.c_int
    lib.kw_encrypt_file.argtypes = [client_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, _c_char_pp]
    lib.kw_encrypt_file.restype = ctypes.c_int
    lib.kw_decrypt_file.argtypes = [client_p, ctypes.c_char_p, ctypes.c_char_p, _c_char_pp]
    lib.kw_decrypt_file.restype = ctypes.c_int
    return lib


def load_library() -> ctypes.CDLL:
    """Loads libkeyward.so: ``$KEYWARD_LIBRARY`` if set, else the one installed with this package
    (``P/lib`` for a package in ``P/lib/python3/dist-packages``), else the loader's search path."""
    explicit = os.environ.get("KEYWARD_LIBRARY")
    if explicit:
        return _declare(ctypes.CDLL(explicit))
    beside = pathlib.Path(__file__).resolve().parents[3] / "libkeyward.so.0"
    candidates = [str(beside)] if beside.is_file() else []
    candidates += [name for name in (ctypes.util.find_library("keyward"), "libkeyward.so.0", "libkeyward.so") if name]
    errors = []
    for name in candidates:
        try:
            return _declare(ctypes.CDLL(name))
        except OSError as e:
            errors.append(f"{name}: {e}")
    raise OSError("keyward: libkeyward.so not found (set KEYWARD_LIBRARY to its path): " + "; ".join(errors))
