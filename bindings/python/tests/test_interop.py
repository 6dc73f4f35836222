"""The Python binding against a real authorization server: oidc-provider (tests/interop/server.mjs,
pinned in tests/interop/package-lock.json) over HTTPS with a CA made at start. Every token is
checked by the server's own introspection endpoint, so "it returned a string" is never enough.

Needs `npm ci --prefix tests/interop` once (`make interop-deps`); fails, never skips, without it.
oidc-provider's own behaviour (no-cc-grant -> invalid_request, one resource per request, ...)
is described in tests/interop/README.md and asserted by the Rust suite (tests/interop.rs).

Tokens and secrets are never printed: tokens are compared into a bool before asserting, and
assertion messages show only introspection fields (which hold neither).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest
import requests
from interopserver import InteropServer, b64url, b64url_json, jwk_thumbprint
from resource_server import ScriptedResource

import cctoken

# ---------------------------------------------------------------------------------------------
# Helpers


@pytest.fixture
def make(interop: InteropServer) -> Iterator[Any]:
    """``make(name, secret=False, **options)``: a cctoken.Client for the registered client
    ``name`` (see InteropServer.options), closed after the test."""
    clients: list[cctoken.Client] = []

    def build(name: str, secret: bool = False, **options: Any) -> cctoken.Client:
        client = cctoken.Client(**interop.options(name, secret, **options))
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


def scope_set(scope: str | None) -> set[str]:
    return set((scope or "").split())


def introspect_ok(interop: InteropServer, token: cctoken.Token, client_id: str, scope: str, aud: str) -> dict:
    """Checks the token at the server: active, issued to ``client_id`` for ``aud`` with
    ``scope``, of the token's type, expiring when cctoken thinks it does. Returns the answer."""
    i = interop.introspect(token.access_token)
    assert i.get("active") is True, f"introspection: {i}"
    assert i.get("client_id") == client_id, f"introspection: {i}"
    assert i.get("iss") == interop.issuer, f"introspection: {i}"
    assert i.get("aud") == aud, f"introspection: {i}"
    assert scope_set(i.get("scope")) == scope_set(scope), f"introspection: {i}"
    assert scope_set(token.scope) == scope_set(scope), "cctoken's view of the granted scope"
    assert i.get("token_type") == token.token_type, f"introspection: {i}"
    # cctoken counts the lifetime from when the request was sent: within 2 s of the server's exp.
    assert token.expires_at is not None and abs(token.expires_at - i["exp"]) <= 2, (token.expires_at, i["exp"])
    return i


def token_twice(client: cctoken.Client) -> cctoken.Token:
    """Two calls: the second is served from the cache (one fetch, one hit)."""
    first = client.token()
    again = client.token()
    assert again is first, "the second call is a cache hit returning the same Token"
    m = client.metrics()
    assert (m.fetches, m.hits, m.misses) == (1, 1, 1), m
    return first


def assert_no_leak(what: str, text: str, secrets: list[str]) -> None:
    """Fails if ``text`` holds any of ``secrets``, raw or form-encoded; shows none of them."""
    leaks = [s for s in secrets if s in text or quote_plus(s) in text]
    assert not leaks, f"{what} leaks {len(leaks)} secret(s) or token(s) (not shown)"


def formatted(e: BaseException) -> str:
    """Every usual way an exception ends up in a log."""
    return f"{e} | {e!r} | {e.args!r} | {getattr(e, 'description', None)}"


def default_aud(interop: InteropServer) -> str:
    return interop.resource("default")[1]


# ---------------------------------------------------------------------------------------------
# Client authentication: secrets


@pytest.mark.parametrize(("name", "method"), [("basic", "client_secret_basic"), ("post", "client_secret_post")])
def test_client_secret(interop, make, name, method):
    # The secrets hold `+/=%:! ` and a space: `basic` only works when cctoken form-encodes the
    # Basic credentials (RFC 6749 §2.3.1), as oidc-provider form-decodes them.
    secret = interop.client(name)["client_secret"]
    client = make(name, secret=True, auth_method=method, scopes=["read", "write"])
    token = token_twice(client)
    assert token.token_type == "Bearer"
    introspect_ok(interop, token, name, "read write", default_aud(interop))
    # The check above can fail: a token the server did not issue is inactive.
    assert interop.introspect(token.access_token + "A").get("active") is False
    assert_no_leak("repr(Client)", repr(client), [secret])
    assert_no_leak("repr(Token)", repr(token), [secret, token.access_token])


def test_client_secret_basic_raw_is_refused_by_a_form_decoding_server(interop, make):
    # The same secret without form-encoding: what makes the test above meaningful.
    client = make("basic", secret=True, auth_method="client_secret_basic_raw")
    with pytest.raises(cctoken.OAuthError) as info:
        client.token()
    assert (info.value.error, info.value.http_status) == ("invalid_request", 400)
    assert_no_leak("the error", formatted(info.value), [interop.client("basic")["client_secret"]])


# ---------------------------------------------------------------------------------------------
# Client authentication: JWT assertions (RFC 7523)


def test_client_secret_jwt_hs256(interop, make):
    client = make("secret-jwt", secret=True, auth_method="client_secret_jwt", signing_alg="HS256",
                  scopes=["read", "write"])
    introspect_ok(interop, token_twice(client), "secret-jwt", "read write", default_aud(interop))


@pytest.mark.parametrize("key_form", ["pem", "jwk"])
@pytest.mark.parametrize(("name", "alg"), [("pkjwt-es256", "ES256"), ("pkjwt-rs256", "RS256"),
                                           ("pkjwt-ps256", "PS256"), ("pkjwt-eddsa", "EdDSA")])
def test_private_key_jwt(interop, make, name, alg, key_form):
    described = interop.client(name)
    assert described["alg"] == alg
    # A PEM (str) or a JWK (the dict itself; the binding serializes it).
    key = {"private_key_pem": described["private_key_pem"]} if key_form == "pem" else \
        {"private_key_jwk": described["private_key_jwk"]}
    client = make(name, auth_method="private_key_jwt", signing_alg=alg, key_id=described["kid"], scopes="read",
                  **key)
    token = token_twice(client)
    introspect_ok(interop, token, name, "read", default_aud(interop))
    assert_no_leak("repr(Client)", repr(client), [described["private_key_pem"], token.access_token])


def test_private_key_jwt_with_another_alg_than_registered_is_invalid_client(interop, make):
    described = interop.client("pkjwt-rs256")
    client = make("pkjwt-rs256", private_key_pem=described["private_key_pem"], key_id=described["kid"],
                  signing_alg="PS256", auth_method="private_key_jwt")
    with pytest.raises(cctoken.OAuthError) as info:
        client.token()
    assert (info.value.error, info.value.http_status) == ("invalid_client", 401)


# ---------------------------------------------------------------------------------------------
# Client authentication: mutual TLS (RFC 8705)


@pytest.mark.parametrize(("name", "method"), [("tls", "tls_client_auth"),
                                              ("self-signed-tls", "self_signed_tls_client_auth")])
def test_mtls_certificate_bound_token(interop, make, name, method):
    described = interop.client(name)
    client = make(name, auth_method=method, client_cert_pem=described["cert_pem"],
                  client_key_pem=described["key_pem"].encode(), scopes=["write"])
    token = token_twice(client)
    assert token.token_type == "Bearer"
    i = introspect_ok(interop, token, name, "write", default_aud(interop))
    # Certificate-bound (RFC 8705 §3): the server saw the certificate cctoken presented.
    assert i.get("cnf", {}).get("x5t#S256") == described["cert_x5t_s256"], f"introspection: {i}"


def test_self_signed_tls_with_an_unregistered_certificate_is_invalid_client(interop, make):
    other = interop.client("tls")
    client = make("self-signed-tls", auth_method="self_signed_tls_client_auth", client_cert_pem=other["cert_pem"],
                  client_key_pem=other["key_pem"])
    with pytest.raises(cctoken.OAuthError) as info:
        client.token()
    assert (info.value.error, info.value.http_status) == ("invalid_client", 401)


# ---------------------------------------------------------------------------------------------
# Discovery (RFC 8414 / OIDC): the issuer option instead of token_url


def test_discovery_via_issuer(interop, make):
    def via_issuer(name: str, **options: Any) -> cctoken.Client:
        return make(name, token_url=None, issuer=interop.issuer, scopes="read", **options)

    # A secret: client_secret_basic.
    client = via_issuer("basic", client_secret=interop.client("basic")["client_secret"])
    introspect_ok(interop, client.token(), "basic", "read", default_aud(interop))
    # A private key: private_key_jwt, with the issuer as the assertion audience.
    es = interop.client("pkjwt-es256")
    client = via_issuer("pkjwt-es256", private_key_pem=es["private_key_pem"], key_id=es["kid"],
                        assertion_audience="issuer")
    introspect_ok(interop, client.token(), "pkjwt-es256", "read", default_aud(interop))
    # Only a CA-issued certificate: tls_client_auth.
    tls = interop.client("tls")
    client = via_issuer("tls", client_cert_pem=tls["cert_pem"], client_key_pem=tls["key_pem"])
    i = introspect_ok(interop, client.token(), "tls", "read", default_aud(interop))
    assert i.get("cnf", {}).get("x5t#S256") == tls["cert_x5t_s256"], f"introspection: {i}"


# ---------------------------------------------------------------------------------------------
# DPoP (RFC 9449)


def test_dpop_nonce_challenge_is_answered(interop, make):
    # `dpop-nonce` must send the server's nonce: the first request gets use_dpop_nonce and a
    # DPoP-Nonce header, and the core resends once, within the same fetch.
    name = "dpop-nonce"
    client = make(name, secret=True, dpop=True, scopes=["read", "write"])
    token = client.token()
    assert token.token_type == "DPoP"
    i = introspect_ok(interop, token, name, "read write", default_aud(interop))
    jkt = client.dpop_jkt()
    assert i.get("cnf", {}).get("jkt") == jkt, f"introspection: {i}"
    assert interop.token_errors(name, "use_dpop_nonce") == 1, f"one nonce challenge; server log:\n{interop.log()}"
    assert interop.token_requests(name) == 1
    assert client.metrics().fetches == 1, "the nonce retry is part of one fetch"

    # Registered with dpop_bound_access_tokens: no proof, no token.
    plain = make(name, secret=True)
    with pytest.raises(cctoken.OAuthError) as info:
        plain.token()
    assert (info.value.error, info.value.http_status) == ("invalid_grant", 400)


def check_proof(proof: str, method: str, url: str, token: cctoken.Token, jkt: str) -> dict[str, Any]:
    """A DPoP proof for a resource request (RFC 9449 §4.2-4.3): a JWS with typ dpop+jwt and the
    public key, htm/htu of the request, ath of the token, fresh iat, a jti. Returns the claims."""
    parts = proof.split(".")
    assert len(parts) == 3, "a compact JWS"
    header, claims = b64url_json(parts[0]), b64url_json(parts[1])
    assert header.get("typ") == "dpop+jwt", header
    assert header.get("alg") == "ES256", header
    assert "d" not in header["jwk"], "the proof carries the public key only"
    assert jwk_thumbprint(header["jwk"]) == jkt, "the proof's key is the one the token is bound to"
    assert claims.get("htm") == method, claims
    assert claims.get("htu") == url.split("?")[0], claims
    ath_ok = claims.get("ath") == b64url(hashlib.sha256(token.access_token.encode()).digest())
    assert ath_ok, "ath is the SHA-256 of the access token"
    assert abs(claims.get("iat", 0) - time.time()) < 60, claims
    assert claims.get("jti"), claims
    return claims


@pytest.fixture
def resource() -> Iterator[ScriptedResource]:
    server = ScriptedResource([])
    yield server
    server.close()


def test_dpop_proofs_for_resource_requests(interop, make, resource):
    # A DPoP token from oidc-provider, then proofs for a resource server: by hand with
    # dpop_proof(), and sent by the requests and httpx adapters.
    client = make("basic", secret=True, dpop=True, scopes="read")
    token = client.token()
    assert token.token_type == "DPoP"
    i = introspect_ok(interop, token, "basic", "read", default_aud(interop))
    jkt = client.dpop_jkt()
    assert i.get("cnf", {}).get("jkt") == jkt, f"introspection: {i}"

    url = resource.base_url + "/api/items?page=2"
    by_hand = check_proof(client.dpop_proof("GET", url, token), "GET", url, token, jkt)
    assert "nonce" not in by_hand
    with_nonce = check_proof(client.dpop_proof("GET", url, token, nonce="n-1"), "GET", url, token, jkt)
    assert with_nonce.get("nonce") == "n-1"
    assert with_nonce["jti"] != by_hand["jti"], "a new jti for every proof"

    assert requests.get(url, auth=client.requests_auth(), timeout=10).status_code == 200
    with httpx.Client(auth=client.httpx_auth(), timeout=10) as http:
        assert http.post(url, json={"x": 1}).status_code == 200
    assert [(r["method"], r["path"]) for r in resource.requests] == [("GET", "/api/items?page=2"),
                                                                   ("POST", "/api/items?page=2")]
    for sent in resource.requests:
        bound = sent["headers"].get("authorization") == token.authorization_header
        assert bound, "Authorization: DPoP <the token>"
        check_proof(sent["headers"]["dpop"], sent["method"], url, token, jkt)


# ---------------------------------------------------------------------------------------------
# Resource indicators (RFC 8707)


def test_resource_indicators_are_cached_separately(interop, make):
    name = "resources"
    (res_a, aud_a), (res_b, aud_b) = interop.resource("a"), interop.resource("b")
    a = make(name, secret=True, resources=res_a, scopes="read")
    b = make(name, secret=True, resources=[res_b], scopes="read")
    ta, tb = token_twice(a), token_twice(b)
    different = ta.access_token != tb.access_token
    assert different, "one token per resource"
    introspect_ok(interop, ta, name, "read", aud_a)
    introspect_ok(interop, tb, name, "read", aud_b)
    assert interop.token_requests(name) == 2, "two resources, two requests, then cache hits"

    # One resource per client-credentials request, and only known ones.
    for resources in ([res_a, res_b], ["https://unknown.interop.test/"]):
        with pytest.raises(cctoken.OAuthError) as info:
            make(name, secret=True, resources=resources).token()
        assert (info.value.error, info.value.http_status) == ("invalid_target", 400)


def test_jwt_access_token_for_a_jwt_resource(interop, make):
    res, aud = interop.resource("jwt")
    token = make("basic", secret=True, resources=res, scopes="write").token()
    claims = b64url_json(token.access_token.split(".")[1])
    assert (claims.get("aud"), claims.get("client_id"), claims.get("scope"), claims.get("iss")) == \
        (aud, "basic", "write", interop.issuer)
    assert token.expires_at is not None and abs(token.expires_at - claims["exp"]) <= 2
    # oidc-provider does not introspect structured tokens.
    status, body = interop.introspect_raw(token.access_token)
    assert (status, body.get("error")) == (400, "unsupported_token_type")


# ---------------------------------------------------------------------------------------------
# Expiry and refresh-ahead


def test_short_lived_token_is_refreshed_ahead_of_expiry(interop, make):
    name = "short-lived"
    lifetime = interop.client(name)["token_lifetime"]
    client = make(name, secret=True, scopes="read")
    first = client.token()
    i = introspect_ok(interop, first, name, "read", default_aud(interop))
    assert i["exp"] - i["iat"] == lifetime

    # Poll until a new token appears (bounded); every answer must still be valid, and the new
    # one must come before the first expires: refresh-ahead, not refresh-after.
    deadline = time.monotonic() + lifetime * 3
    while True:
        assert time.monotonic() < deadline, f"no refresh within {lifetime * 3} s"
        current = client.token()
        assert current.expires_in > 0, "an expired token was served"
        if current.access_token != first.access_token:
            break
        time.sleep(0.05)
    assert first.expires_in > 0, "the refresh came only after the first token expired"
    introspect_ok(interop, current, name, "read", default_aud(interop))
    m = client.metrics()
    assert m.fetches >= 2 and m.hits >= 1, m


# ---------------------------------------------------------------------------------------------
# Errors: fields and redaction


@pytest.mark.parametrize(("name", "method"), [("basic", "client_secret_basic"), ("post", "client_secret_post")])
def test_wrong_secret_is_invalid_client_and_never_leaks(interop, make, name, method):
    right = interop.client(name)["client_secret"]
    wrong = "wrong+/=%:! secret-value"
    client = make(name, client_secret=wrong, auth_method=method)
    with pytest.raises(cctoken.OAuthError) as info:
        client.token()
    e = info.value
    assert isinstance(e, cctoken.TokenEndpointError) and isinstance(e, cctoken.CctokenError)
    assert (e.error, e.http_status, e.retryable) == ("invalid_client", 401, False)
    assert e.description == "client authentication failed"
    assert_no_leak("the error", formatted(e), [wrong, right])
    # Within the failure cool-down the same error comes back without a request.
    with pytest.raises(cctoken.OAuthError) as again:
        client.token()
    assert again.value.error == "invalid_client"
    assert client.metrics().fetches == 1, "cool-down: no second request"


def test_unknown_client_is_invalid_client(interop, make):
    wrong = "wrong+/=%:! secret-value"
    with pytest.raises(cctoken.OAuthError) as info:
        make("basic", client_id="no-such-client", client_secret=wrong).token()
    assert (info.value.error, info.value.http_status, info.value.retryable) == ("invalid_client", 401, False)
    assert_no_leak("the error", formatted(info.value), [wrong])


def test_scope_the_client_may_not_have_is_invalid_scope(interop, make):
    secret = interop.client("basic")["client_secret"]
    with pytest.raises(cctoken.OAuthError) as info:
        make("basic", secret=True, scopes=["read", "admin"]).token()
    e = info.value
    assert (e.error, e.http_status, e.retryable) == ("invalid_scope", 400, False)
    assert e.description == "requested scope is not allowed"
    assert_no_leak("the error", formatted(e), [secret])
    # A client that may have `admin` gets it.
    token = make("all-scopes", secret=True, scopes=["read", "admin"]).token()
    introspect_ok(interop, token, "all-scopes", "read admin", default_aud(interop))


def test_client_without_the_grant_gets_invalid_request(interop, make):
    # oidc-provider answers invalid_request ("requested grant type is not allowed for this
    # client"), not RFC 6749 §5.2's unauthorized_client (tests/interop/README.md).
    secret = interop.client("no-cc-grant")["client_secret"]
    with pytest.raises(cctoken.OAuthError) as info:
        make("no-cc-grant", secret=True, scopes="read").token()
    e = info.value
    assert (e.error, e.http_status, e.retryable) == ("invalid_request", 400, False)
    assert e.description == "requested grant type is not allowed for this client"
    assert_no_leak("the error", formatted(e), [secret])
