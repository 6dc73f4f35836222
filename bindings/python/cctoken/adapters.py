"""Auth adapters for ``requests`` and ``httpx`` (both optional dependencies).

Each adds ``Authorization: <token_type> <token>`` to a request and, when the resource server
answers 401 to that token, invalidates it and sends the request once more with a fresh token.
DPoP tokens (RFC 9449) also get a ``DPoP`` proof header; a 401 carrying a ``DPoP-Nonce`` is
answered with a new proof that includes the nonce, and the latest nonce of each origin is
reused for the next requests to it.

A redirect to another origin carries no token (both libraries drop ``Authorization``), and a
401 from there invalidates nothing. ``requests`` also loses the DPoP proof on such a hop;
``httpx`` copies every other header to the next hop, the proof included (it is bound to the
first URL and token, so it is useless elsewhere, but with DPoP prefer ``follow_redirects=False``).

Use them through ``Client.requests_auth()`` and ``Client.httpx_auth()``.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Generator, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    import httpx
    import requests

    from .client import Client, Token


class _Signer:
    """What both adapters share: header values, DPoP nonces, and the 401 decision."""

    def __init__(self, client: Client) -> None:
        self._client = client
        # Origin -> the last DPoP-Nonce it sent. Plain dict operations are atomic under the GIL.
        self._nonces: dict[str, str] = {}

    def sign(self, headers: MutableMapping[str, str], method: str, url: str, token: Token) -> None:
        headers["Authorization"] = token.authorization_header
        if _is_dpop(token):
            nonce = self._nonces.get(_origin(url))
            headers["DPoP"] = self._client.dpop_proof(method, url, token, nonce)

    def remember_nonce(self, url: str, headers: Any) -> None:
        nonce = headers.get("DPoP-Nonce")
        if nonce:
            self._nonces[_origin(url)] = nonce

    def retry_needs_new_token(self, token: Token, request_headers: Any, status: int, headers: Any) -> bool | None:
        """After a response: None = do not retry; False = retry with the same token (a DPoP
        nonce challenge); True = the token was rejected: invalidate it and retry."""
        # Only a 401 to the token we sent says anything about it (not one after a redirect to
        # another origin, where the Authorization header was dropped).
        if status != 401 or request_headers.get("Authorization") != token.authorization_header:
            return None
        if _is_dpop(token) and "use_dpop_nonce" in headers.get("WWW-Authenticate", "") and headers.get("DPoP-Nonce"):
            return False
        self._client.invalidate(token)
        return True


def _is_dpop(token: Token) -> bool:
    return token.token_type.lower() == "dpop"


def _origin(url: str) -> str:
    parts = urlsplit(str(url))
    return f"{parts.scheme}://{parts.netloc}".lower()


def _requests_base() -> type:
    try:
        import requests.auth
    except ImportError:  # the class below still imports; using it says what is missing
        return object
    return requests.auth.AuthBase


class RequestsAuth(_requests_base()):  # type: ignore[misc]
    """``requests`` authentication with a cctoken client (``Client.requests_auth()``)."""

    def __init__(self, client: Client) -> None:
        import requests  # noqa: F401 - a clear ImportError here rather than at the first request

        self._signer = _Signer(client)
        self._client = client

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self._client.token()
        self._signer.sign(r.headers, r.method or "GET", r.url or "", token)
        # A file-like body is rewound for the retry; an iterator cannot be sent twice.
        body_pos = None
        if hasattr(r.body, "seek") and hasattr(r.body, "tell"):
            try:
                body_pos = r.body.tell()
            except OSError:
                pass
        r.register_hook("response", functools.partial(self._on_response, token=token, body_pos=body_pos))
        return r

    def _on_response(self, response: requests.Response, *, token: Token, body_pos: int | None, **kwargs: Any):
        import requests.cookies

        request = response.request
        if response.is_redirect:
            # requests copies this request's headers to the next hop and drops Authorization
            # when it leaves the origin, but not the DPoP proof: drop it here.
            target = urljoin(response.url, response.headers["location"])
            if _origin(target) != _origin(response.url):
                request.headers.pop("DPoP", None)
            return response
        self._signer.remember_nonce(response.url, response.headers)
        new = self._signer.retry_needs_new_token(token, request.headers, response.status_code, response.headers)
        if new is None:
            return response
        body = request.body
        if body is not None and not isinstance(body, (bytes, str)):
            if body_pos is None:
                return response  # a consumed stream: hand the 401 to the caller
            body.seek(body_pos)
        retry_token = self._client.token() if new else token
        # Drain and release the 401's connection, as requests' own HTTPDigestAuth does.
        response.content  # noqa: B018
        response.close()
        prep = request.copy()
        requests.cookies.extract_cookies_to_jar(prep._cookies, request, response.raw)
        prep.prepare_cookies(prep._cookies)
        self._signer.sign(prep.headers, prep.method or "GET", prep.url or "", retry_token)
        # Sent through the adapter, not the session, so the hooks (this one) do not run again.
        retry = response.connection.send(prep, **kwargs)
        retry.history.append(response)
        retry.request = prep
        self._signer.remember_nonce(retry.url, retry.headers)
        return retry


def _httpx_base() -> type:
    try:
        import httpx
    except ImportError:
        return object
    return httpx.Auth


class HttpxAuth(_httpx_base()):  # type: ignore[misc]
    """``httpx`` authentication with a cctoken client, for ``httpx.Client`` and
    ``httpx.AsyncClient`` (``Client.httpx_auth()``)."""

    # The body is read before sending so that the 401 retry can send it again.
    requires_request_body = True

    def __init__(self, client: Client) -> None:
        import httpx  # noqa: F401 - a clear ImportError here rather than at the first request

        self._signer = _Signer(client)
        self._client = client

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._client.token()
        self._sign(request, token)
        response = yield request
        self._signer.remember_nonce(str(response.url), response.headers)
        # The last hop's request: after a redirect to another origin it carried no token.
        new = self._signer.retry_needs_new_token(token, response.request.headers, response.status_code, response.headers)
        if new is None:
            return
        self._sign(request, self._client.token() if new else token)
        response = yield request
        self._signer.remember_nonce(str(response.url), response.headers)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._token_async()
        self._sign(request, token)
        response = yield request
        self._signer.remember_nonce(str(response.url), response.headers)
        # The last hop's request: after a redirect to another origin it carried no token.
        new = self._signer.retry_needs_new_token(token, response.request.headers, response.status_code, response.headers)
        if new is None:
            return
        self._sign(request, await self._token_async() if new else token)
        response = yield request
        self._signer.remember_nonce(str(response.url), response.headers)

    async def _token_async(self) -> Token:
        # A cached token costs nothing; a fetch blocks, so it runs on a worker thread instead of
        # stalling the event loop (anyio comes with httpx and serves asyncio and trio alike).
        cached = self._client._cached()
        if cached is not None:
            return cached
        import anyio.to_thread

        return await anyio.to_thread.run_sync(self._client.token)

    def _sign(self, request: httpx.Request, token: Token) -> None:
        self._signer.sign(request.headers, request.method, str(request.url), token)
