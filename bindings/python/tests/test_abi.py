"""The ctypes declarations against include/cctoken.h: every function, argument, constant."""

from __future__ import annotations

import ctypes
import os
import re
import subprocess
import sys
from ctypes import POINTER
from pathlib import Path

import pytest
from devserver import REPO

import cctoken
from cctoken import _native as n
from cctoken import errors

HEADER = (REPO / "include" / "cctoken.h").read_text()
CODE = re.sub(r"/\*.*?\*/|//[^\n]*", "", HEADER, flags=re.S)  # without comments

SCALARS = {
    "cct_status": ctypes.c_uint32,
    "cct_auth_method": ctypes.c_uint32,
    "cct_signing_alg": ctypes.c_uint32,
    "cct_assertion_audience": ctypes.c_uint32,
    "cct_trust_store": ctypes.c_uint32,
    "cct_thumbprint": ctypes.c_uint32,
    "cct_grant_type": ctypes.c_uint32,
    "uint16_t": ctypes.c_uint16,
    "uint32_t": ctypes.c_uint32,
    "uint64_t": ctypes.c_uint64,
    "int64_t": ctypes.c_int64,
    "size_t": ctypes.c_size_t,
    "bool": ctypes.c_bool,
    "double": ctypes.c_double,
    "cct_level": ctypes.c_uint32,
    "cct_event_callback": n.EVENT_CALLBACK,
}
HANDLES = {
    name: getattr(n, name)
    for name in ("cct_config", "cct_client", "cct_token", "cct_error", "cct_metrics", "cct_store_metrics", "cct_event")
}


def expected_ctype(c_type: str) -> object:
    """The ctypes type a C type must be declared as (the binding's conventions)."""
    const = "const" in c_type.split()
    base = re.sub(r"\b(const|struct)\b|\*|\s", "", c_type)
    stars = c_type.count("*")
    if base == "void" and stars == 0:
        return None
    if base == "void" and stars == 1:
        return ctypes.c_void_p  # user_data
    if stars == 0:
        return SCALARS[base]
    if base == "char" and stars == 1:
        # Borrowed or input strings convert to and from bytes; an owned string handed back to
        # cct_string_free must stay a raw pointer.
        return ctypes.c_char_p if const else ctypes.c_void_p
    if base == "char" and stars == 2:
        return POINTER(ctypes.c_void_p)
    if base == "uint8_t" and stars == 1 and const:
        return ctypes.c_char_p  # (bytes, length) buffers
    t = HANDLES[base]
    for _ in range(stars):
        t = POINTER(t)
    return t


def header_functions() -> dict[str, tuple[str, list[str]]]:
    found = {}
    for ret, name, params in re.findall(r"([\w \t*]+?)\s*\b(cct_\w+)\s*\(([^)]*)\)\s*;", CODE):
        params = " ".join(params.split())
        args = [] if params in ("", "void") else [p.strip() for p in params.split(",")]
        # Drop each parameter's name, keeping its type: "const char *url" -> "const char *".
        types = [re.sub(r"\b\w+$", "", a).strip() for a in args]
        found[name] = (ret.strip(), types)
    return found


FUNCTIONS = header_functions()


def test_header_parses():
    assert len(FUNCTIONS) > 50
    assert FUNCTIONS["cct_client_get_token_timeout"] == (
        "cct_status",
        ["const struct cct_client *", "uint64_t", "struct cct_token **", "struct cct_error **"],
    )


def test_every_header_function_is_declared():
    assert sorted(set(FUNCTIONS) - set(n.SIGNATURES)) == []
    assert sorted(set(n.SIGNATURES) - set(FUNCTIONS)) == []


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_declaration_matches_header(name):
    ret, params = FUNCTIONS[name]
    restype, argtypes = n.SIGNATURES[name]
    assert len(argtypes) == len(params), f"{name}: arity"
    for i, (c_type, declared) in enumerate(zip(params, argtypes)):
        assert declared is expected_ctype(c_type), f"{name} argument {i}: {c_type}"
    assert restype is expected_ctype(ret), f"{name} returns {ret}"
    # ...and the loaded function really carries them.
    fn = getattr(n.lib, name)
    assert fn.restype is restype
    assert list(fn.argtypes) == list(argtypes)


def test_metrics_struct_matches_header():
    body = re.search(r"typedef struct cct_metrics \{(.*?)\} cct_metrics;", CODE, re.S).group(1)
    fields = re.findall(r"(\w+)\s+(\w+)(?:\[(\d+)\])?;", body)
    expected = [(name, SCALARS[t] * int(size) if size else SCALARS[t]) for t, name, size in fields]
    declared = list(n.cct_metrics._fields_)
    assert [name for name, _ in expected] == [name for name, _ in declared]
    for (name, want), (_, got) in zip(expected, declared):
        assert ctypes.sizeof(want) == ctypes.sizeof(got) and getattr(want, "_type_", want) == getattr(got, "_type_", got), name


def constants(prefix: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(rf"#define CCT_{prefix}(\w+) (\d+)", CODE)}


def test_status_constants():
    for name, value in constants("STATUS_").items():
        assert getattr(n, f"STATUS_{name}") == value, name
        if value:
            assert value in errors._BY_STATUS, f"CCT_STATUS_{name} has no exception class"


def test_enum_constants():
    assert {k.lower(): v for k, v in constants("AUTH_").items()} == n.AUTH_METHODS
    assert {k.upper(): v for k, v in constants("ALG_").items()} == {k.upper(): v for k, v in n.SIGNING_ALGS.items()}
    assert constants("AUD_") == {"TOKEN_ENDPOINT": n.AUD_TOKEN_ENDPOINT, "ISSUER": n.AUD_ISSUER, "CUSTOM": n.AUD_CUSTOM}
    thumbprints = {"NONE": "none", "X5T": "x5t", "X5T_S256": "x5t#S256", "BOTH": "both"}
    assert {thumbprints[k]: v for k, v in constants("THUMBPRINT_").items()} == n.THUMBPRINTS
    assert {k.lower(): v for k, v in constants("GRANT_").items()} == n.GRANT_TYPES


def test_abi_version():
    assert constants("")["ABI_VERSION"] == n.ABI_VERSION == n.lib.cct_abi_version()
    version = ".".join(str(constants("VERSION_")[p]) for p in ("MAJOR", "MINOR", "PATCH"))
    assert cctoken.version() == version


def test_abi_mismatch_refuses_to_load(monkeypatch):
    found = n.ABI_VERSION
    monkeypatch.setattr(n, "ABI_VERSION", found + 1)
    with pytest.raises(ImportError, match=rf"ABI version {found}.*written for version {found + 1}.*make stage"):
        n._load()


def test_library_override(tmp_path):
    env = {**os.environ, "CCTOKEN_LIBRARY": str(tmp_path / "missing.so")}
    probe = subprocess.run([sys.executable, "-c", "import cctoken"], env=env, capture_output=True, text=True,
                           cwd=Path(cctoken.__file__).parents[1], timeout=60)
    assert probe.returncode != 0
    assert "missing.so" in probe.stderr and "ImportError" in probe.stderr
