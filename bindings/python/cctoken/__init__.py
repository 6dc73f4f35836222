"""cctoken: OAuth 2.0 client-credentials tokens, cached and kept fresh by one Rust core.

    from cctoken import Client
    with Client(token_url=..., client_id="svc-a", client_secret=secret, scopes=["read"]) as c:
        tok = c.token()
        requests.get(url, auth=c.requests_auth())

Layout: ``_native`` (ctypes declarations of the C ABI), ``_config`` (keyword options),
``client`` (Client, Token, Metrics), ``errors`` (exceptions), ``adapters`` (requests, httpx).
"""

from ._config import RefreshPolicy, RetryPolicy
from ._native import ABI_VERSION, version
from .client import Client, Metrics, Token
from .errors import (
    ArgumentError,
    CctokenError,
    ClosedError,
    ConfigError,
    ConnectError,
    HttpError,
    InternalError,
    InvalidResponseError,
    OAuthError,
    TimeoutError,
    TlsError,
    TokenEndpointError,
    TransportError,
)

__version__ = "0.1.0"

__all__ = [
    "ABI_VERSION",
    "ArgumentError",
    "CctokenError",
    "Client",
    "ClosedError",
    "ConfigError",
    "ConnectError",
    "HttpError",
    "InternalError",
    "InvalidResponseError",
    "Metrics",
    "OAuthError",
    "RefreshPolicy",
    "RetryPolicy",
    "TimeoutError",
    "TlsError",
    "Token",
    "TokenEndpointError",
    "TransportError",
    "version",
]
