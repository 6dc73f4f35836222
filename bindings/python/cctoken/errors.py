"""Exceptions. Each carries plain Python data copied out of the library's ``cct_error``.

The class follows the status range of the C ABI::

    CctokenError
    ├── ArgumentError (1-3)      a bad argument reached the library (also a ValueError)
    ├── InternalError (4)        the library panicked; please report it
    ├── ClosedError              the client was closed (also a ValueError, like a closed file)
    ├── ConfigError (100)        the configuration; the message names the option (also a ValueError)
    ├── TransportError (2xx)     no usable HTTP answer (203: the connection broke)
    │   ├── ConnectError (200)
    │   ├── TimeoutError (201)   also the built-in TimeoutError
    │   └── TlsError (202)
    └── TokenEndpointError (3xx) the token endpoint answered, but not with a token
        ├── HttpError (300)      an error status without an OAuth error body
        ├── OAuthError (301)     an RFC 6749 §5.2 error: .error, .description, .uri
        └── InvalidResponseError (302)

Messages never contain the client secret or an access token: the library redacts them, and
these classes only show the message and the non-secret fields.
"""

from __future__ import annotations

import builtins
import ctypes
from typing import Any

from . import _native as n


class CctokenError(Exception):
    """Base class of every cctoken error."""

    def __init__(
        self,
        message: str = "",
        *,
        status: int = 0,
        http_status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        #: The token endpoint's HTTP status, or None when there was no HTTP answer.
        self.http_status = http_status
        #: Whether trying again later may succeed (transport failures, 408, 425, 429, 5xx).
        self.retryable = retryable
        #: The server's Retry-After in seconds, or None when it sent none.
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        fields = [f"status={self.status}"]
        if self.http_status is not None:
            fields.append(f"http_status={self.http_status}")
        fields.append(f"message={self.message!r}")
        return f"{type(self).__name__}({', '.join(fields)})"


class ArgumentError(CctokenError, ValueError):
    """A NULL, non-UTF-8 or out-of-range argument reached the library."""


class InternalError(CctokenError):
    """The library panicked (CCT_STATUS_PANIC). The call had no effect; please report it."""


class ClosedError(CctokenError, ValueError):
    """The client was closed."""


class ConfigError(CctokenError, ValueError):
    """The configuration is invalid; the message names the option."""


class TransportError(CctokenError):
    """No usable HTTP answer from the token endpoint."""


class ConnectError(TransportError):
    """DNS or TCP connect to the token endpoint failed."""


class TimeoutError(TransportError, builtins.TimeoutError):  # noqa: A001 - deliberately shadows
    """A connect, request or call timeout passed."""


class TlsError(TransportError):
    """The TLS handshake failed (certificate, host name, protocol)."""


class TokenEndpointError(CctokenError):
    """The token endpoint answered, but not with a usable token."""


class HttpError(TokenEndpointError):
    """A non-success HTTP status without an OAuth error body (see ``http_status``)."""


class OAuthError(TokenEndpointError):
    """An RFC 6749 §5.2 error answer, e.g. ``invalid_client``."""

    def __init__(
        self,
        message: str = "",
        *,
        error: str | None = None,
        description: str | None = None,
        uri: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        #: The OAuth ``error`` code, e.g. "invalid_client".
        self.error = error
        #: The ``error_description`` (redacted by the library).
        self.description = description
        #: The ``error_uri``.
        self.uri = uri

    def __repr__(self) -> str:
        return (
            f"OAuthError(status={self.status}, error={self.error!r}, http_status={self.http_status}, "
            f"message={self.message!r})"
        )


class InvalidResponseError(TokenEndpointError):
    """A success status whose body is not a usable token response."""


_BY_STATUS: dict[int, type[CctokenError]] = {
    n.STATUS_NULL_ARGUMENT: ArgumentError,
    n.STATUS_INVALID_UTF8: ArgumentError,
    n.STATUS_INVALID_ARGUMENT: ArgumentError,
    n.STATUS_PANIC: InternalError,
    n.STATUS_CONFIG: ConfigError,
    n.STATUS_CONNECT: ConnectError,
    n.STATUS_TIMEOUT: TimeoutError,
    n.STATUS_TLS: TlsError,
    n.STATUS_IO: TransportError,
    n.STATUS_HTTP: HttpError,
    n.STATUS_OAUTH: OAuthError,
    n.STATUS_INVALID_RESPONSE: InvalidResponseError,
}


def _class_for(status: int) -> type[CctokenError]:
    """The class of a status; unknown codes of a newer library fall back to their range."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if 100 <= status < 200:
        return ConfigError
    if 200 <= status < 300:
        return TransportError
    if 300 <= status < 400:
        return TokenEndpointError
    return CctokenError


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "replace")


def from_native(status: int, err: Any) -> CctokenError:
    """Copies a ``cct_error *`` into a Python exception and frees it. ``err`` may be NULL."""
    lib = n.lib
    if not err:
        message = _text(lib.cct_status_str(status)) or "unknown status"
        return _class_for(status)(message, status=status)
    try:
        status = lib.cct_error_status(err)
        fields: dict[str, Any] = {
            "status": status,
            "http_status": lib.cct_error_http_status(err) or None,
            "retryable": bool(lib.cct_error_retryable(err)),
        }
        retry_after_ms = lib.cct_error_retry_after_ms(err)
        fields["retry_after"] = retry_after_ms / 1000 if retry_after_ms >= 0 else None
        message = _text(lib.cct_error_message(err)) or ""
        cls = _class_for(status)
        if issubclass(cls, OAuthError):
            fields["error"] = _text(lib.cct_error_oauth_error(err))
            fields["description"] = _text(lib.cct_error_oauth_description(err))
            fields["uri"] = _text(lib.cct_error_oauth_uri(err))
        return cls(message, **fields)
    finally:
        lib.cct_error_free(err)


def call(fn: Any, *args: Any) -> None:
    """Calls a fallible ``cct_*`` function (its trailing ``cct_error **`` is added here) and
    raises the matching exception when it fails."""
    err = n.error_p()
    status = fn(*args, ctypes.byref(err))
    if status != n.STATUS_OK:
        raise from_native(status, err)
