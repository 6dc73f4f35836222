"""Client options: checked once in Python, then replayed onto a native ``cct_config``.

``Client`` keeps the checked options so it can build a new native client later (after
``os.fork()``). Each option maps to one ``cct_config_*`` setter; the library validates the
values themselves when the client is built, and its error names the option at fault.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Callable

from . import _events
from . import _native as n
from .errors import ConfigError
from .errors import call as _call


@dataclass(frozen=True)
class RefreshPolicy:
    """When a token is refreshed ahead of expiry: during the last max(``ratio`` × lifetime,
    ``min_window`` seconds) of its life, capped at half of it; ``jitter`` (0-1) spreads the
    start over that fraction of the window."""

    ratio: float = 0.1
    min_window: float = 60.0
    jitter: float = 0.25


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of transient failures: at most ``max_attempts`` requests, full-jitter
    exponential backoff from ``base_delay`` up to ``max_delay`` seconds."""

    max_attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 5.0


def _str(name: str, value: Any) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if "\x00" in value:
        # C strings end at the first NUL: "a\x00b" would silently become "a". The value may be
        # a secret, so the message names only the option.
        raise ConfigError(f"{name}: contains a NUL character", status=n.STATUS_CONFIG)
    return value


def _pem(name: str, value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{name} must be PEM text (str or bytes), not {type(value).__name__}")


def _strs(name: str, value: Any) -> tuple[str, ...]:
    # A lone string is one item, not an iterable of characters ("read" must not become r,e,a,d).
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a str or an iterable of str")
    return tuple(_str(name, v) for v in value)


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name}: must be a finite, non-negative number of seconds", status=n.STATUS_CONFIG)
    return float(value)


def ms(seconds: float) -> int:
    """Seconds to whole milliseconds for the C ABI, capped at u64."""
    return min(round(seconds * 1000), 2**64 - 1)


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
    return value


def _enum(name: str, table: Mapping[str, int]) -> Callable[[str, Any], str]:
    def check(_: str, value: Any) -> str:
        value = _str(name, value)
        if value not in table:
            # Quoted bounded (repr escapes control characters): an error message stays one short line.
            shown = repr(value[:40]) + ("…" if len(value) > 40 else "")
            raise ConfigError(f"{name}: unknown value {shown}; one of {', '.join(table)}", status=n.STATUS_CONFIG)
        return value

    return check


def _extra_params(name: str, value: Any) -> tuple[tuple[str, str], ...]:
    # A mapping, or (name, value) pairs for a parameter that repeats.
    items = value.items() if isinstance(value, Mapping) else value
    try:
        pairs = tuple((k, v) for k, v in items)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a dict of str to str or an iterable of (name, value) pairs") from None
    return tuple((_str(name, k), _str(name, v)) for k, v in pairs)


def _jwk(name: str, value: Any) -> str:
    return json.dumps(value) if isinstance(value, Mapping) else _str(name, value)


def _der(name: str, value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{name} must be bytes (DER), not {type(value).__name__}")


def _service_account_info(name: str, value: Any) -> str:
    # google-auth's spelling: the parsed key file as a dict. JSON text is taken as it is; the
    # library checks the fields (its error names a missing one, never the key).
    if isinstance(value, Mapping):
        try:
            return _str(name, json.dumps(dict(value)))
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a dict of JSON values") from None
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode()
        except UnicodeDecodeError:
            raise ConfigError(f"{name}: not UTF-8", status=n.STATUS_CONFIG) from None
    if isinstance(value, str):
        return _str(name, value)
    raise TypeError(f"{name} must be a dict (the parsed key file) or JSON text, not {type(value).__name__}")


def _policy(cls: type) -> Callable[[str, Any], Any]:
    def check(name: str, value: Any) -> Any:
        if not isinstance(value, cls):
            raise TypeError(f"{name} must be a cctoken.{cls.__name__}, not {type(value).__name__}")
        return value

    return check


# Every keyword Client accepts, with the function that checks (and normalizes) its value.
OPTIONS: dict[str, Callable[[str, Any], Any]] = {
    "token_url": _str,
    "issuer": _str,
    "client_id": _str,
    "client_secret": _str,
    "client_secret_file": _str,
    "reread_secret_file": _bool,
    "auth_method": _enum("auth_method", n.AUTH_METHODS),
    "scopes": _strs,
    "audience": _str,
    "resources": _strs,
    "extra_params": _extra_params,
    "connect_timeout": _seconds,
    "request_timeout": _seconds,
    "call_timeout": _seconds,
    "default_lifetime": _seconds,
    "refresh_policy": _policy(RefreshPolicy),
    "retry_policy": _policy(RetryPolicy),
    "failure_cooldown": _seconds,
    "root_ca_pem": lambda name, v: tuple(_pem(name, p) for p in (v if isinstance(v, (list, tuple)) else [v])),
    "trust_store": _enum("trust_store", n.TRUST_STORES),
    "proxy": _str,
    "client_cert_pem": _pem,
    "client_key_pem": _pem,
    "user_agent": _str,
    "allow_insecure_http": _bool,
    "background_refresh": _bool,
    "private_key_pem": _pem,
    "private_key_jwk": _jwk,
    "signing_alg": _enum("signing_alg", n.SIGNING_ALGS),
    "key_id": _str,
    "assertion_audience": _str,
    "assertion_lifetime": _seconds,
    "dpop": _bool,
    "dpop_key_pem": _pem,
    # Where events go (see _events): a logging.Logger, a logger name, or False for none.
    "logger": _events.check_logger,
    # Shared cache stores (one per client): a directory for one host, Redis for a fleet.
    "cache_dir": _str,
    "redis_url": _str,
    "redis_ca_pem": _pem,
    "store_timeout": _seconds,
    # Certificates of private_key_jwt (Entra ID): the chain next to private_key_pem, or key and
    # chain from a PKCS#12 / PFX file or its bytes; which thumbprint header(s) name it.
    "assertion_certificate_pem": _pem,
    "pkcs12_file": _str,
    "pkcs12_password": _str,
    "pkcs12_der": _der,
    "thumbprint": _enum("thumbprint", n.THUMBPRINTS),
    "x5c": _bool,
    # Federated credentials: a JWT the platform writes to a file, re-read before every request.
    "client_assertion_file": _str,
    # The JWT bearer grant (RFC 7523 §2.1) and Google service-account keys.
    "grant_type": _enum("grant_type", n.GRANT_TYPES),
    "subject": _str,
    "service_account_file": _str,
    "service_account_info": _service_account_info,
}

# Options whose values must never be shown (repr) or logged.
SECRET_OPTIONS = frozenset(
    {
        "client_secret",
        "client_key_pem",
        "private_key_pem",
        "private_key_jwk",
        "dpop_key_pem",
        "redis_url",
        "pkcs12_password",
        "pkcs12_der",
        "service_account_info",
    }
)


def check(options: Mapping[str, Any]) -> dict[str, Any]:
    """Checks keyword arguments; unknown names are a TypeError, like any bad keyword."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TypeError(f"Client() got unexpected keyword argument(s): {', '.join(unknown)}")
    checked = {name: OPTIONS[name](name, value) for name, value in options.items() if value is not None}
    if "client_secret" in checked and "client_secret_file" in checked:
        raise ConfigError("give client_secret or client_secret_file, not both", status=n.STATUS_CONFIG)
    if ("client_cert_pem" in checked) != ("client_key_pem" in checked):
        raise ConfigError("client_cert_pem and client_key_pem go together", status=n.STATUS_CONFIG)
    if "cache_dir" in checked and "redis_url" in checked:
        raise ConfigError("give cache_dir or redis_url, not both", status=n.STATUS_CONFIG)
    if "reread_secret_file" in checked and "client_secret_file" not in checked:
        raise ConfigError("reread_secret_file needs client_secret_file", status=n.STATUS_CONFIG)
    if "pkcs12_file" in checked and "pkcs12_der" in checked:
        raise ConfigError("give pkcs12_file or pkcs12_der, not both", status=n.STATUS_CONFIG)
    if "pkcs12_password" in checked and not ("pkcs12_file" in checked or "pkcs12_der" in checked):
        raise ConfigError("pkcs12_password needs pkcs12_file or pkcs12_der", status=n.STATUS_CONFIG)
    if "service_account_file" in checked and "service_account_info" in checked:
        raise ConfigError("give service_account_file or service_account_info, not both", status=n.STATUS_CONFIG)
    return checked


def build_client(options: Mapping[str, Any], sink_id: int = 0) -> Any:
    """A new native ``cct_client *`` from checked options, its events going to the logger
    registered as ``sink_id`` (none for 0). The caller owns it."""
    lib = n.lib
    cfg = n.config_p()
    _call(lib.cct_config_new, ctypes.byref(cfg))
    try:
        _apply(lib, cfg, options)
        _events.configure(lib, cfg, sink_id, _call)
        client = n.client_p()
        _call(lib.cct_client_new, cfg, ctypes.byref(client))
        return client
    finally:
        lib.cct_config_free(cfg)


def _apply(lib: Any, cfg: Any, o: Mapping[str, Any]) -> None:
    def text(setter: Any, name: str) -> None:
        if name in o:
            _call(setter, cfg, o[name].encode())

    def duration(setter: Any, name: str) -> None:
        if name in o:
            _call(setter, cfg, ms(o[name]))

    def flag(setter: Any, name: str) -> None:
        if name in o:
            _call(setter, cfg, o[name])

    text(lib.cct_config_set_token_url, "token_url")
    text(lib.cct_config_set_issuer, "issuer")
    text(lib.cct_config_set_client_id, "client_id")
    text(lib.cct_config_set_client_secret, "client_secret")
    if "client_secret_file" in o:
        path = o["client_secret_file"].encode()
        _call(lib.cct_config_set_client_secret_file, cfg, path, o.get("reread_secret_file", False))
    if "auth_method" in o:
        _call(lib.cct_config_set_auth_method, cfg, n.AUTH_METHODS[o["auth_method"]])
    for scope in o.get("scopes", ()):
        _call(lib.cct_config_add_scope, cfg, scope.encode())
    text(lib.cct_config_set_audience, "audience")
    for resource in o.get("resources", ()):
        _call(lib.cct_config_add_resource, cfg, resource.encode())
    for name, value in o.get("extra_params", ()):
        _call(lib.cct_config_add_extra_param, cfg, name.encode(), value.encode())
    duration(lib.cct_config_set_connect_timeout_ms, "connect_timeout")
    duration(lib.cct_config_set_request_timeout_ms, "request_timeout")
    duration(lib.cct_config_set_call_timeout_ms, "call_timeout")
    duration(lib.cct_config_set_default_lifetime_ms, "default_lifetime")
    if "refresh_policy" in o:
        p = o["refresh_policy"]
        _call(lib.cct_config_set_refresh_policy, cfg, p.ratio, ms(_seconds("min_window", p.min_window)), p.jitter)
    if "retry_policy" in o:
        p = o["retry_policy"]
        delays = ms(_seconds("base_delay", p.base_delay)), ms(_seconds("max_delay", p.max_delay))
        _call(lib.cct_config_set_retry_policy, cfg, p.max_attempts, *delays)
    duration(lib.cct_config_set_failure_cooldown_ms, "failure_cooldown")
    for pem in o.get("root_ca_pem", ()):
        _call(lib.cct_config_add_root_ca_pem, cfg, pem, len(pem))
    if "trust_store" in o:
        _call(lib.cct_config_set_trust_store, cfg, n.TRUST_STORES[o["trust_store"]])
    text(lib.cct_config_set_proxy, "proxy")
    if "client_cert_pem" in o:
        cert, key = o["client_cert_pem"], o["client_key_pem"]
        _call(lib.cct_config_set_client_certificate_pem, cfg, cert, len(cert), key, len(key))
    text(lib.cct_config_set_user_agent, "user_agent")
    flag(lib.cct_config_set_allow_insecure_http, "allow_insecure_http")
    flag(lib.cct_config_set_background_refresh, "background_refresh")
    if "private_key_pem" in o:
        _call(lib.cct_config_set_private_key_pem, cfg, o["private_key_pem"], len(o["private_key_pem"]))
    text(lib.cct_config_set_private_key_jwk, "private_key_jwk")
    if "signing_alg" in o:
        _call(lib.cct_config_set_signing_alg, cfg, n.SIGNING_ALGS[o["signing_alg"]])
    text(lib.cct_config_set_key_id, "key_id")
    if "assertion_audience" in o:
        # "token_endpoint" and "issuer" name the two standard audiences; anything else is used
        # as the audience itself (normally a URL, so the two keywords cannot collide with it).
        aud = o["assertion_audience"]
        kind = {"token_endpoint": n.AUD_TOKEN_ENDPOINT, "issuer": n.AUD_ISSUER}.get(aud, n.AUD_CUSTOM)
        _call(lib.cct_config_set_assertion_audience, cfg, kind, aud.encode() if kind == n.AUD_CUSTOM else None)
    duration(lib.cct_config_set_assertion_lifetime_ms, "assertion_lifetime")
    flag(lib.cct_config_set_dpop, "dpop")
    if "dpop_key_pem" in o:
        _call(lib.cct_config_set_dpop_key_pem, cfg, o["dpop_key_pem"], len(o["dpop_key_pem"]))
    text(lib.cct_config_set_cache_dir, "cache_dir")
    text(lib.cct_config_set_cache_redis_url, "redis_url")
    if "redis_ca_pem" in o:
        _call(lib.cct_config_set_cache_redis_ca_pem, cfg, o["redis_ca_pem"], len(o["redis_ca_pem"]))
    duration(lib.cct_config_set_cache_store_timeout_ms, "store_timeout")
    if "assertion_certificate_pem" in o:
        chain = o["assertion_certificate_pem"]
        _call(lib.cct_config_set_assertion_certificate_pem, cfg, chain, len(chain))
    # None (NULL): no password, which the library treats as the empty one.
    password = o["pkcs12_password"].encode() if "pkcs12_password" in o else None
    if "pkcs12_file" in o:
        _call(lib.cct_config_set_pkcs12_file, cfg, o["pkcs12_file"].encode(), password)
    if "pkcs12_der" in o:
        _call(lib.cct_config_set_pkcs12_der, cfg, o["pkcs12_der"], len(o["pkcs12_der"]), password)
    if "thumbprint" in o:
        _call(lib.cct_config_set_thumbprint, cfg, n.THUMBPRINTS[o["thumbprint"]])
    flag(lib.cct_config_set_x5c, "x5c")
    text(lib.cct_config_set_client_assertion_file, "client_assertion_file")
    if "grant_type" in o:
        _call(lib.cct_config_set_grant_type, cfg, n.GRANT_TYPES[o["grant_type"]])
    text(lib.cct_config_set_subject, "subject")
    text(lib.cct_config_set_service_account_file, "service_account_file")
    text(lib.cct_config_set_service_account_json, "service_account_info")
