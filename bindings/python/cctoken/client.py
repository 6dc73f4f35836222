"""``Client``, ``Token`` and ``Metrics``: the Python face of a native ``cct_client``.

Three things here are not a plain wrapping of the C ABI:

* **Fast path.** The client keeps the last token with the deadline the library gave it
  (``cct_token_fresh_for_ms``) and returns it without crossing the FFI until then: one clock
  read, one lock-free counter step. The library still decides every fetch; these hits are
  added to ``metrics().hits``.
* **Closing while in use.** Every native call is counted in flight under a lock; ``close()``
  detaches the handle and the last call to return frees it, so ``close()`` never frees memory
  under a thread that is still inside the library.
* **Fork.** In a child process the inherited native client is dropped without freeing it (its
  Rust state may be mid-lock, copied from a thread that does not exist in the child) and a new
  one is built from the kept options on first use, so parent and child share nothing.
"""

from __future__ import annotations

import ctypes
import itertools
import math
import os
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _config, _events
from . import _native as n
from .errors import ClosedError, call

if TYPE_CHECKING:
    from .adapters import HttpxAuth, RequestsAuth

# Bound once: the hit path then makes one global lookup for the clock, not two.
_monotonic = time.monotonic


class _Handle:
    """One native ``cct_client *``, the number of calls running on it, and the id of the
    logger its events go to."""

    __slots__ = ("ptr", "inflight", "detached", "sink_id")

    def __init__(self, options: dict[str, Any]) -> None:
        self.sink_id = _events.register(_events.logger_of(options))
        try:
            self.ptr = _config.build_client(options, self.sink_id)
        except BaseException:
            _events.forget(self.sink_id)
            raise
        self.inflight = 0
        # Set by close(): the last call to leave frees the native client.
        self.detached = False

    def free(self) -> None:
        n.lib.cct_client_free(self.ptr)
        # No event callback runs once cct_client_free has returned.
        _events.forget(self.sink_id)


class Token:
    """An access token, read-only. ``repr()``/``str()`` never show the token itself.

    Attributes: ``access_token``, ``token_type`` (e.g. "Bearer", "DPoP"), ``scope`` (granted
    scopes, space-separated, or None), ``expires_at`` (Unix time in seconds, or None for a
    single-use token), ``authorization_header`` and ``expires_in`` (seconds left, counted on a
    monotonic clock).
    """

    # Plain slots rather than properties: reading one is a C-level lookup instead of a Python
    # call, which matters on a hit path of a few hundred nanoseconds. __setattr__ keeps them
    # read-only. (The values are the attributes' docs, shown by help().)
    __slots__ = {
        "access_token": "The token to send. Never log it.",
        "token_type": 'The token type, e.g. "Bearer" or "DPoP".',
        "scope": "The granted scopes, space-separated, or None.",
        "expires_at": "Unix time in seconds when the token expires, or None.",
        "authorization_header": 'The value of the Authorization header: "<token_type> <access_token>".',
        "_expires_mono": "Monotonic time of expiry.",
        "_ptr": "The cct_token *, owned.",
        "_source": "The _Handle that issued it.",
    }
    # For type checkers (annotations only: the slots above are the storage).
    access_token: str
    token_type: str
    scope: str | None
    expires_at: int | None
    authorization_header: str
    # Kept on the class so __del__ still works while the interpreter shuts down.
    _free = staticmethod(n.lib.cct_token_free)

    def __init__(self) -> None:
        raise TypeError("Token objects come from Client.token()")

    @classmethod
    def _adopt(cls, ptr: Any, source: _Handle) -> Token:
        """Wraps a ``cct_token *`` the caller owns; it is freed with this object."""
        lib = n.lib
        self = cls.__new__(cls)
        put = object.__setattr__  # __setattr__ below refuses every write
        put(self, "_ptr", ptr)
        put(self, "_source", source)
        access_token = lib.cct_token_access_token(ptr).decode()
        token_type = lib.cct_token_token_type(ptr).decode()
        put(self, "access_token", access_token)
        put(self, "token_type", token_type)
        put(self, "authorization_header", f"{token_type} {access_token}")
        scope = lib.cct_token_scope(ptr)
        put(self, "scope", None if scope is None else scope.decode())
        put(self, "expires_at", lib.cct_token_expires_at_unix(ptr) or None)
        put(self, "_expires_mono", _monotonic() + lib.cct_token_expires_in_ms(ptr) / 1000)
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cctoken.Token is read-only (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cctoken.Token is read-only (cannot delete {name!r})")

    def __del__(self) -> None:
        ptr = getattr(self, "_ptr", None)
        if ptr:
            object.__setattr__(self, "_ptr", None)
            self._free(ptr)

    @property
    def expires_in(self) -> float:
        return max(0.0, self._expires_mono - _monotonic())

    def __repr__(self) -> str:
        return (
            f"Token(token_type={self.token_type!r}, access_token='[redacted]', "
            f"expires_in={self.expires_in:.0f}, scope={self.scope!r})"
        )

    __str__ = __repr__

    def __reduce__(self) -> Any:
        # A token belongs to the native client that issued it; send the fields, not the object.
        raise TypeError("cctoken.Token cannot be pickled; send token.access_token instead")


@dataclass(frozen=True)
class Metrics:
    """A snapshot of a client's counters."""

    #: Calls answered from a cached token (by the library, or by this binding's fast path).
    hits: int
    #: Calls that had to fetch or wait for a fetch.
    misses: int
    #: Token requests started (retries not counted).
    fetches: int
    #: Fetches that ended in an error.
    fetch_failures: int
    #: Extra HTTP attempts made by the retry policy.
    retries: int
    #: Calls that waited for a fetch another caller had started.
    coalesced_waiters: int
    #: Calls answered with the still-valid token while a refresh had failed.
    stale_served: int
    #: Duration of the last completed fetch, in seconds.
    last_fetch_latency: float
    #: Credential failures that started a cool-down.
    cooldowns: int = 0
    #: Calls answered with the cool-down's error, without a request.
    cooldown_rejections: int = 0
    #: HTTP attempts (retries included) by outcome: "success" or an error class.
    requests: dict[str, int] | None = None
    #: Fetch durations: (upper bound in seconds, fetches in that bucket only), not cumulative.
    fetch_latency_buckets: tuple[tuple[float, int], ...] = ()
    fetch_latency_count: int = 0
    #: Total duration of the fetches counted, in seconds.
    fetch_latency_sum: float = 0.0
    #: Seconds until the cached token expires; None with no token cached.
    token_expires_in: float | None = None
    #: Local misses answered by the shared store (``cache_dir`` / ``redis_url``): no request.
    store_hits: int = 0
    #: Local misses that found no usable entry in the shared store.
    store_misses: int = 0
    #: Shared store failures, each followed by a direct fetch.
    store_errors: int = 0
    #: Fetches that waited for another process holding the store's lease.
    store_lease_waits: int = 0


REQUEST_OUTCOMES = ("success", "connect", "timeout", "tls", "io", "http", "oauth", "invalid_response", "config")
FETCH_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


# Every open client, so the fork hook can reach them; weak, so it keeps none of them alive.
_live_clients: weakref.WeakSet[Client] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for client in list(_live_clients):
        client._forget_native_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


class Client:
    """An OAuth 2.0 client-credentials client with a thread-safe token cache.

    Every keyword mirrors one option of the C configuration (see the package README for the
    list); an unknown keyword is a ``TypeError``, a bad value a ``ConfigError``. Share one
    client between threads; close it (or use ``with``) when done.
    """

    def __init__(self, **options: Any) -> None:
        self._options = _config.check(options)
        self._lock = threading.Lock()  # guards the handle, in-flight counts and _current
        # Fast-path hits, counted without a lock (a lock here cost more than the rest of a hit):
        # next() on an itertools.count is one C call, atomic under the GIL, so no hit is lost.
        # metrics() reads it by taking a value too, and subtracts the reads it made.
        self._fast_hits = itertools.count()
        self._fast_hits_reads = 0
        self._current: tuple[Token, float] | None = None  # (token, monotonic deadline)
        # Bumped by invalidate/close/fork: a fetch that started before must not cache its token.
        self._epoch = 0
        self._closed = False
        self._handle: _Handle | None = None  # set last: close() copes with a failed build
        self._handle = _Handle(self._options)
        _live_clients.add(self)

    # -- Google service accounts (google-auth's spelling) -----------------------------------------

    @classmethod
    def from_service_account_file(cls, filename: str | os.PathLike[str], **options: Any) -> Client:
        """A client for a Google service-account JSON key file: the JWT bearer grant (RFC 7523
        §2.1) signed with the file's key, ``kid`` = its ``private_key_id``, sent to its
        ``token_uri``. Pass ``scopes=[...]`` (and ``subject=`` for domain-wide delegation) as
        with google-auth; other keywords as for ``Client``. A missing field is a
        ``ConfigError`` naming it and the file."""
        return cls(service_account_file=filename, **options)

    @classmethod
    def from_service_account_info(cls, info: Mapping[str, Any], **options: Any) -> Client:
        """The same from the key file's parsed contents (a dict), e.g. from a secret manager."""
        return cls(service_account_info=info, **options)

    # -- tokens ---------------------------------------------------------------------------------

    def token(self, timeout: float | None = None) -> Token:
        """A valid access token: cached, refreshed ahead of expiry, fetched when needed.

        Waits at most ``timeout`` seconds (default: the ``call_timeout`` option), retries and
        waiting for another thread's fetch included. Raises a ``CctokenError`` subclass.
        """
        # The fast path, inlined (a method call would cost as much as the rest of it). The
        # deadline is the library's own fresh_for, so the library alone decides every fetch.
        current = self._current
        if current is not None and _monotonic() < current[1]:
            next(self._fast_hits)
            return current[0]
        return self._fetch(timeout)

    def _fetch(self, timeout: float | None) -> Token:
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
                raise TypeError("timeout must be a number of seconds")
            if not math.isfinite(timeout) or timeout < 0:
                raise ValueError("timeout must be a finite, non-negative number of seconds")
        handle, epoch = self._acquire()
        keep: tuple[Token, float] | None = None
        try:
            out = n.token_p()
            if timeout is None:
                call(n.lib.cct_client_get_token, handle.ptr, ctypes.byref(out))
            else:
                # Rounded up, so a tiny positive timeout does not become "do not wait at all".
                timeout_ms = min(math.ceil(timeout * 1000), 2**64 - 1)
                call(n.lib.cct_client_get_token_timeout, handle.ptr, timeout_ms, ctypes.byref(out))
            token = Token._adopt(out, handle)
            # The clock is read before asking, so the deadline never lands after the library's.
            now = _monotonic()
            fresh_ms = n.lib.cct_token_fresh_for_ms(out)
            if fresh_ms > 0:
                keep = (token, now + fresh_ms / 1000)
            return token
        finally:
            self._release(handle, epoch, keep)

    def invalidate(self, token: Token) -> None:
        """Forgets ``token`` if it is still the cached one, so the next ``token()`` fetches.

        Call it after a resource server answered 401 to this token. A token that was already
        replaced is left alone, so many failing callers cause one fetch, not many.
        """
        if not isinstance(token, Token):
            raise TypeError(f"invalidate() takes a cctoken.Token, not {type(token).__name__}")
        with self._lock:
            # A fetch still running may return this very token: it must not cache it.
            self._epoch += 1
            current = self._current
            if current is not None and current[0].access_token == token.access_token:
                self._current = None
            handle = self._handle
            # A token of another client (or of the parent, before a fork) is not in our cache.
            if self._closed or handle is None or token._source is not handle:
                return
            handle.inflight += 1
        try:
            call(n.lib.cct_client_invalidate, handle.ptr, token._ptr)
        finally:
            self._release(handle)

    def set_client_secret(self, secret: str) -> None:
        """Replaces the client secret (rotation): used from the next fetch on; the cached
        token stays. Ends a cool-down after a credential failure."""
        secret = _config._str("client_secret", secret)
        handle, _ = self._acquire()
        try:
            call(n.lib.cct_client_set_client_secret, handle.ptr, secret.encode())
        finally:
            self._release(handle)
        with self._lock:
            # A client rebuilt after fork() must use the new secret too.
            options = {k: v for k, v in self._options.items() if k not in ("client_secret_file", "reread_secret_file")}
            self._options = {**options, "client_secret": secret}

    def metrics(self) -> Metrics:
        """A snapshot of the counters; ``hits`` includes the binding's fast-path hits."""
        out = n.cct_metrics()
        store = n.cct_store_metrics()
        handle, _ = self._acquire()
        try:
            call(n.lib.cct_client_metrics, handle.ptr, ctypes.byref(out))
            call(n.lib.cct_client_store_metrics, handle.ptr, ctypes.byref(store))
        finally:
            self._release(handle)
        fast_hits = self._fast_hit_count()
        return Metrics(
            hits=out.hits + fast_hits,
            misses=out.misses,
            fetches=out.fetches,
            fetch_failures=out.fetch_failures,
            retries=out.retries,
            coalesced_waiters=out.coalesced_waiters,
            stale_served=out.stale_served,
            last_fetch_latency=out.last_fetch_latency_us / 1e6,
            cooldowns=out.cooldowns,
            cooldown_rejections=out.cooldown_rejections,
            requests={name: getattr(out, f"requests_{name}") for name in REQUEST_OUTCOMES},
            fetch_latency_buckets=tuple(zip(FETCH_LATENCY_BUCKETS, out.fetch_latency_buckets)),
            fetch_latency_count=out.fetch_latency_count,
            fetch_latency_sum=out.fetch_latency_sum_us / 1e6,
            token_expires_in=out.token_expires_in_ms / 1000 if out.token_cached else None,
            store_hits=store.store_hits,
            store_misses=store.store_misses,
            store_errors=store.store_errors,
            store_lease_waits=store.store_lease_waits,
        )

    def metrics_text(self) -> str:
        """The metrics in the Prometheus text format (serve it as ``/metrics`` with content
        type ``text/plain; version=0.0.4``); hits include the binding's fast-path hits."""
        out = ctypes.c_void_p()
        handle, _ = self._acquire()
        try:
            call(n.lib.cct_client_metrics_text, handle.ptr, self._fast_hit_count(), ctypes.byref(out))
        finally:
            self._release(handle)
        return _take_string(out)

    def _fast_hit_count(self) -> int:
        with self._lock:
            # Every hit and every earlier read took one value: this read sees hits + reads.
            fast_hits = next(self._fast_hits) - self._fast_hits_reads
            self._fast_hits_reads += 1
        return fast_hits

    # -- DPoP (RFC 9449) ------------------------------------------------------------------------

    def dpop_proof(self, method: str, url: str, token: Token | None = None, nonce: str | None = None) -> str:
        """A DPoP proof for a request to a resource server: send it as the ``DPoP`` header
        next to ``Authorization: DPoP <token>``. ``nonce`` is the server's ``DPoP-Nonce``.
        Raises ``ConfigError`` unless the client was built with ``dpop=True``."""
        if token is not None and not isinstance(token, Token):
            raise TypeError(f"token must be a cctoken.Token or None, not {type(token).__name__}")
        method, url = _config._str("method", method), _config._str("url", url)
        nonce_arg = None if nonce is None else _config._str("nonce", nonce).encode()
        out = ctypes.c_void_p()
        handle, _ = self._acquire()
        try:
            token_ptr = None if token is None else token._ptr
            call(n.lib.cct_client_dpop_proof, handle.ptr, method.encode(), url.encode(), token_ptr, nonce_arg,
                 ctypes.byref(out))
        finally:
            self._release(handle)
        return _take_string(out)

    def dpop_jkt(self) -> str:
        """The RFC 7638 thumbprint of the DPoP key (what ``cnf.jkt`` of the tokens holds)."""
        out = ctypes.c_void_p()
        handle, _ = self._acquire()
        try:
            call(n.lib.cct_client_dpop_jkt, handle.ptr, ctypes.byref(out))
        finally:
            self._release(handle)
        return _take_string(out)

    # -- HTTP library adapters ------------------------------------------------------------------

    def requests_auth(self) -> RequestsAuth:
        """A ``requests`` auth: adds ``Authorization`` (and ``DPoP``), retries a 401 once."""
        from .adapters import RequestsAuth

        return RequestsAuth(self)

    def httpx_auth(self) -> HttpxAuth:
        """An ``httpx.Auth`` for sync and async clients, with the same behaviour."""
        from .adapters import HttpxAuth

        return HttpxAuth(self)

    def _cached(self) -> Token | None:
        """The fast-path token if still fresh (counted as a hit), else None. Never blocks.
        The same test as in token(), which inlines it."""
        current = self._current
        if current is not None and _monotonic() < current[1]:
            next(self._fast_hits)
            return current[0]
        return None

    # -- lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        """Releases the native client. Idempotent. Calls already running finish normally
        (the native client is freed when the last one returns); later calls raise
        ``ClosedError``."""
        lock = getattr(self, "_lock", None)
        if lock is None:  # __init__ failed before the client existed
            return
        with lock:
            if self._closed:
                return
            self._closed = True
            self._epoch += 1
            self._current = None
            handle, self._handle = self._handle, None
            if handle is None:
                return
            handle.detached = True
            free_now = handle.inflight == 0
        if free_now:
            handle.free()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - nothing useful to do with it during collection
            pass

    def __repr__(self) -> str:
        where = self._options.get("token_url") or self._options.get("issuer")
        state = " closed" if self._closed else ""
        # Paths only: never the contents of a key, PKCS#12 or assertion file.
        files = "".join(
            f" {name}={self._options[name]!r}"
            for name in ("service_account_file", "pkcs12_file", "client_assertion_file")
            if name in self._options
        )
        return f"<cctoken.Client{state} endpoint={where!r} client_id={self._options.get('client_id')!r}{files}>"

    # -- handle bookkeeping ---------------------------------------------------------------------

    def _acquire(self) -> tuple[_Handle, int]:
        """The native handle, counted in flight until ``_release``, and the current epoch."""
        with self._lock:
            if self._closed:
                raise ClosedError("the client is closed", status=0)
            handle = self._handle
            if handle is None:  # first use in a child process after fork()
                handle = self._handle = _Handle(self._options)
            handle.inflight += 1
            return handle, self._epoch

    def _release(self, handle: _Handle, epoch: int | None = None, keep: tuple[Token, float] | None = None) -> None:
        with self._lock:
            handle.inflight -= 1
            # Cache the token only if nothing invalidated, closed or forked since the call began.
            if keep is not None and epoch == self._epoch and handle is self._handle:
                self._current = keep
            free_now = handle.detached and handle.inflight == 0
        if free_now:
            handle.free()

    def _forget_native_after_fork(self) -> None:
        # Runs in the child right after fork(), with no other thread alive. Locks may have been
        # copied while held by a thread that does not exist here: replace them. The native
        # client is leaked on purpose: freeing it could touch Rust state copied mid-update.
        self._lock = threading.Lock()
        self._handle = None
        self._current = None
        self._fast_hits = itertools.count()
        self._fast_hits_reads = 0
        self._epoch += 1


def _take_string(out: ctypes.c_void_p) -> str:
    """Copies a string the library handed over, then gives it back with cct_string_free."""
    try:
        return ctypes.string_at(out.value).decode()
    finally:
        n.lib.cct_string_free(out)
