"""ctypes declarations for libcctoken: the only module that knows the C ABI.

Every ``cct_*`` function of ``include/cctoken.h`` is declared here with its ``argtypes`` and
``restype`` (tests/test_abi.py parses the header and checks each one), so a wrong argument is
a ``ctypes.ArgumentError`` instead of memory corruption. ``ctypes.CDLL`` releases the GIL
around every call, so a thread blocked in a token fetch does not stop the others.

The library is found, in order: ``$CCTOKEN_LIBRARY``; ``libcctoken.so`` inside this package
(``make stage`` copies it there, ``pip install`` bundles it); the system's linker path.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import CFUNCTYPE, POINTER, c_bool, c_char_p, c_double, c_int64, c_size_t, c_uint16, c_uint32, c_uint64, c_void_p
from pathlib import Path

# The CCT_ABI_VERSION of the header this module was written against.
ABI_VERSION = 2

# Status codes (CCT_STATUS_*), grouped in ranges: 1-99 misuse, 100-199 configuration,
# 200-299 transport, 300-399 the token endpoint's answer.
STATUS_OK = 0
STATUS_NULL_ARGUMENT = 1
STATUS_INVALID_UTF8 = 2
STATUS_INVALID_ARGUMENT = 3
STATUS_PANIC = 4
STATUS_CONFIG = 100
STATUS_CONNECT = 200
STATUS_TIMEOUT = 201
STATUS_TLS = 202
STATUS_IO = 203
STATUS_HTTP = 300
STATUS_OAUTH = 301
STATUS_INVALID_RESPONSE = 302

# CCT_AUTH_*, keyed by the names RFC 7591 / RFC 8705 use for them.
AUTH_METHODS = {
    "client_secret_basic": 0,
    "client_secret_basic_raw": 1,
    "client_secret_post": 2,
    "none": 3,
    "client_secret_jwt": 4,
    "private_key_jwt": 5,
    "tls_client_auth": 6,
    "self_signed_tls_client_auth": 7,
}

# CCT_ALG_*, keyed by their JWS names.
SIGNING_ALGS = {"HS256": 0, "RS256": 1, "PS256": 2, "ES256": 3, "EdDSA": 4}

# CCT_TRUST_*, keyed by the names the other languages use.
TRUST_STORES = {"system": 0, "bundled": 1, "root_ca_only": 2}

# CCT_AUD_*
AUD_TOKEN_ENDPOINT = 0
AUD_ISSUER = 1
AUD_CUSTOM = 2

# CCT_THUMBPRINT_*: the certificate thumbprint header(s) of client assertions, keyed by the
# header names (RFC 7515 §4.1.7, §4.1.8).
THUMBPRINTS = {"none": 0, "x5t": 1, "x5t#S256": 2, "both": 3}

# CCT_GRANT_*, keyed by the names the other languages use.
GRANT_TYPES = {"client_credentials": 0, "jwt_bearer": 1}


# Opaque handle types: distinct pointer types, so ctypes refuses a token where a client goes.
class cct_config(ctypes.Structure):
    pass


class cct_client(ctypes.Structure):
    pass


class cct_token(ctypes.Structure):
    pass


class cct_error(ctypes.Structure):
    pass


class cct_event(ctypes.Structure):
    pass


class cct_metrics(ctypes.Structure):
    _fields_ = [
        ("hits", c_uint64),
        ("misses", c_uint64),
        ("fetches", c_uint64),
        ("fetch_failures", c_uint64),
        ("retries", c_uint64),
        ("coalesced_waiters", c_uint64),
        ("stale_served", c_uint64),
        ("last_fetch_latency_us", c_uint64),
        ("cooldowns", c_uint64),
        ("cooldown_rejections", c_uint64),
        ("requests_success", c_uint64),
        ("requests_connect", c_uint64),
        ("requests_timeout", c_uint64),
        ("requests_tls", c_uint64),
        ("requests_io", c_uint64),
        ("requests_http", c_uint64),
        ("requests_oauth", c_uint64),
        ("requests_invalid_response", c_uint64),
        ("requests_config", c_uint64),
        ("fetch_latency_buckets", c_uint64 * 12),
        ("fetch_latency_count", c_uint64),
        ("fetch_latency_sum_us", c_uint64),
        ("token_expires_in_ms", c_uint64),
        ("token_cached", c_uint64),
    ]


class cct_store_metrics(ctypes.Structure):
    _fields_ = [
        ("store_hits", c_uint64),
        ("store_misses", c_uint64),
        ("store_errors", c_uint64),
        ("store_lease_waits", c_uint64),
    ]


cct_status = c_uint32
cct_auth_method = c_uint32
cct_signing_alg = c_uint32
cct_assertion_audience = c_uint32
cct_level = c_uint32
cct_trust_store = c_uint32
cct_thumbprint = c_uint32
cct_grant_type = c_uint32

config_p = POINTER(cct_config)
client_p = POINTER(cct_client)
token_p = POINTER(cct_token)
error_p = POINTER(cct_error)
error_pp = POINTER(error_p)
# Strings the library hands over (char **out) stay raw pointers so they can be given back to
# cct_string_free; borrowed `const char *` results are c_char_p and copied at once.
string_out_p = POINTER(c_void_p)
event_p = POINTER(cct_event)
# void (*cct_event_callback)(const cct_event *event, void *user_data)
EVENT_CALLBACK = CFUNCTYPE(None, event_p, c_void_p)

# CCT_LEVEL_*
LEVEL_ERROR, LEVEL_WARN, LEVEL_INFO, LEVEL_DEBUG = 1, 2, 3, 4

# name: (restype, argtypes). One line per function of the header, in the header's order.
SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "cct_client_new": (cct_status, [config_p, POINTER(client_p), error_pp]),
    "cct_client_clone": (cct_status, [client_p, POINTER(client_p), error_pp]),
    "cct_client_free": (None, [client_p]),
    "cct_client_get_token": (cct_status, [client_p, POINTER(token_p), error_pp]),
    "cct_client_get_token_timeout": (cct_status, [client_p, c_uint64, POINTER(token_p), error_pp]),
    "cct_client_invalidate": (cct_status, [client_p, token_p, error_pp]),
    "cct_client_set_client_secret": (cct_status, [client_p, c_char_p, error_pp]),
    "cct_client_metrics": (cct_status, [client_p, POINTER(cct_metrics), error_pp]),
    "cct_client_metrics_text": (cct_status, [client_p, c_uint64, string_out_p, error_pp]),
    "cct_client_store_metrics": (cct_status, [client_p, POINTER(cct_store_metrics), error_pp]),
    "cct_token_free": (None, [token_p]),
    "cct_token_access_token": (c_char_p, [token_p]),
    "cct_token_token_type": (c_char_p, [token_p]),
    "cct_token_scope": (c_char_p, [token_p]),
    "cct_token_expires_in_ms": (c_uint64, [token_p]),
    "cct_token_fresh_for_ms": (c_uint64, [token_p]),
    "cct_token_expires_at_unix": (c_int64, [token_p]),
    "cct_client_dpop_proof": (cct_status, [client_p, c_char_p, c_char_p, token_p, c_char_p, string_out_p, error_pp]),
    "cct_client_dpop_jkt": (cct_status, [client_p, string_out_p, error_pp]),
    "cct_string_free": (None, [c_void_p]),
    "cct_config_new": (cct_status, [POINTER(config_p), error_pp]),
    "cct_config_free": (None, [config_p]),
    "cct_config_set_token_url": (cct_status, [config_p, c_char_p, error_pp]),
    "cct_config_set_client_id": (cct_status, [config_p, c_char_p, error_pp]),
    "cct_config_set_client_secret": (cct_status, [config_p, c_char_p, error_pp]),
    "cct_config_set_client_secret_file": (cct_status, [config_p, c_char_p, c_bool, error_pp]),
    "cct_config_set_auth_method": (cct_status, [config_p, cct_auth_method, error_pp]),
    "cct_config_add_scope": (cct_status, [config_p, c_char_p, error_pp]),
    "cct_config_set_audience": (cct_status, [config_p, c_char_p, error_pp]),
    "cct_config_add_resource": (cct_status, [config_p, c_char_p, error_pp]),
    "cct_config_add_extra_param": (cct_status, [config_p, c_char_p, c_char_p, error_pp]),
    "cct_config_set_connect_timeout_ms": (cct_status, [config_p, c_uint64, error_pp]),
    "cct_config_set_request_timeout_ms": (cct_status, [config_p, c_uint64, error_pp]),
    "cct_config_set_call_timeout_ms": (cct_status, [config_p, c_uint64, error_pp]),
    "cct_config_set_default_lifetime_ms": (cct_status, [config_p, c_uint64, error_pp]),
    "cct_config_set_refresh_policy": (cct_status, [config_p, c_double, c_uint64, c_double, error_pp]),
    "cct_config_set_retry_policy": (cct_status, [config_p, c_uint32, c_uint64, c_uint64, error_pp]),
    "cct_config_set_failure_cooldown_ms": (cct_status, [config_p, c_uint64, error_pp]),
    "cct_config_add_root_ca_pem": (cct_status, [config_p, c_char_p, c_size_t, error_pp]),
    "cct_config_set_trust_store": (cct_status, [config_p, cct_trust_store, error_pp]),
    "cct_config_set_proxy": (cct_status, [config_p, c_char_p, error_pp]),
    "cct_config_set_user_agent": (cct_status, [config_p, c_char_p, error_pp]),
    "cct_config_set_allow_insecure_http": (cct_status, [config_p, c_bool, error_pp]),
    "cct_config_set_background_refresh": (cct_status, [config_p, c_bool, error_pp]),
    "cct_config_set_issuer": (cct_status, [config_p, c_char_p, error_pp]),
    "cct_config_set_private_key_pem": (cct_status, [config_p, c_char_p, c_size_t, error_pp]),
    "cct_config_set_private_key_jwk": (cct_status, [config_p, c_char_p, error_pp]),
    "cct_config_set_signing_alg": (cct_status, [config_p, cct_signing_alg, error_pp]),
    "cct_config_set_key_id": (cct_status, [config_p, c_char_p, error_pp]),
    "cct_config_set_assertion_audience": (cct_status, [config_p, cct_assertion_audience, c_char_p, error_pp]),
    "cct_config_set_assertion_lifetime_ms": (cct_status, [config_p, c_uint64, error_pp]),
    "cct_config_set_client_certificate_pem": (
        cct_status,
        [config_p, c_char_p, c_size_t, c_char_p, c_size_t, error_pp],
    ),
    "cct_config_set_dpop": (cct_status, [config_p, c_bool, error_pp]),
    "cct_config_set_dpop_key_pem": (cct_status, [config_p, c_char_p, c_size_t, error_pp]),
    "cct_config_set_event_callback": (cct_status, [config_p, EVENT_CALLBACK, c_void_p, error_pp]),
    "cct_event_time_unix_ms": (c_uint64, [event_p]),
    "cct_event_level": (cct_level, [event_p]),
    "cct_event_kind": (c_char_p, [event_p]),
    "cct_event_message": (c_char_p, [event_p]),
    "cct_event_field_count": (c_size_t, [event_p]),
    "cct_event_field": (c_bool, [event_p, c_size_t, POINTER(c_void_p), POINTER(c_void_p)]),
    "cct_event_json": (c_char_p, [event_p]),
    "cct_config_set_cache_dir": (cct_status, [config_p, c_char_p, error_pp]),
    "cct_config_set_cache_redis_url": (cct_status, [config_p, c_char_p, error_pp]),
    "cct_config_set_cache_redis_ca_pem": (cct_status, [config_p, c_char_p, c_size_t, error_pp]),
    "cct_config_set_cache_store_timeout_ms": (cct_status, [config_p, c_uint64, error_pp]),
    "cct_config_set_assertion_certificate_pem": (cct_status, [config_p, c_char_p, c_size_t, error_pp]),
    "cct_config_set_pkcs12_file": (cct_status, [config_p, c_char_p, c_char_p, error_pp]),
    "cct_config_set_pkcs12_der": (cct_status, [config_p, c_char_p, c_size_t, c_char_p, error_pp]),
    "cct_config_set_thumbprint": (cct_status, [config_p, cct_thumbprint, error_pp]),
    "cct_config_set_x5c": (cct_status, [config_p, c_bool, error_pp]),
    "cct_config_set_client_assertion_file": (cct_status, [config_p, c_char_p, error_pp]),
    "cct_config_set_grant_type": (cct_status, [config_p, cct_grant_type, error_pp]),
    "cct_config_set_subject": (cct_status, [config_p, c_char_p, error_pp]),
    "cct_config_set_service_account_file": (cct_status, [config_p, c_char_p, error_pp]),
    "cct_config_set_service_account_json": (cct_status, [config_p, c_char_p, error_pp]),
    "cct_error_free": (None, [error_p]),
    "cct_error_status": (cct_status, [error_p]),
    "cct_error_message": (c_char_p, [error_p]),
    "cct_error_http_status": (c_uint16, [error_p]),
    "cct_error_retryable": (c_bool, [error_p]),
    "cct_error_retry_after_ms": (c_int64, [error_p]),
    "cct_error_oauth_error": (c_char_p, [error_p]),
    "cct_error_oauth_description": (c_char_p, [error_p]),
    "cct_error_oauth_uri": (c_char_p, [error_p]),
    "cct_status_str": (c_char_p, [cct_status]),
    "cct_version": (c_char_p, []),
    "cct_abi_version": (c_uint32, []),
}


def _find_library() -> str:
    override = os.environ.get("CCTOKEN_LIBRARY")
    if override:
        return override
    bundled = Path(__file__).with_name("libcctoken.so")
    if bundled.exists():
        return str(bundled)
    system = ctypes.util.find_library("cctoken")
    if system:
        return system
    raise ImportError(
        "cctoken: libcctoken.so not found. Build it with `make stage` in the cctoken repository "
        "(it is copied into bindings/python/cctoken/), reinstall with `pip install ./bindings/python`, "
        "or point CCTOKEN_LIBRARY at a libcctoken.so."
    )


def _load() -> tuple[ctypes.CDLL, str]:
    path = _find_library()
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(f"cctoken: cannot load {path}: {e}") from e
    # The ABI version first: a library of another version may lack functions declared below.
    try:
        lib.cct_abi_version.restype, lib.cct_abi_version.argtypes = c_uint32, []
        found = lib.cct_abi_version()
    except AttributeError:
        found = None
    if found != ABI_VERSION:
        raise ImportError(
            f"cctoken: {path} has C ABI version {found}, but this Python package was written for "
            f"version {ABI_VERSION}. Rebuild the library (`make stage`) and reinstall the package "
            "(`pip install ./bindings/python`) from the same checkout, or unset CCTOKEN_LIBRARY."
        )
    for name, (restype, argtypes) in SIGNATURES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise ImportError(
                f"cctoken: {path} has no {name} although its ABI version matches: "
                "rebuild it (`make stage`) from the same checkout"
            ) from None
        fn.restype = restype
        fn.argtypes = argtypes
    return lib, path


lib, library_path = _load()


def version() -> str:
    """The loaded library's version, e.g. "0.1.0"."""
    return lib.cct_version().decode()
