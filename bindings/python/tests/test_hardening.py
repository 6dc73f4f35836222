"""Issue 8 in the Python binding: an embedded NUL is refused in every string that crosses
ctypes (C strings end at the first NUL, so "a\\x00b" used to authenticate as "a"), and DPoP
proofs made in a forked child carry a `jti` of their own."""

from __future__ import annotations

import base64
import json

import pytest
from devserver import SECRET
from test_fork import run_in_child

import cctoken

BASE = {"token_url": "https://as.example.com/token", "client_id": "svc", "client_secret": SECRET}
HIDDEN = "hidden-value-0123"

# Every string option, with a NUL-bearing value (and what else the option needs).
NUL_OPTIONS = {
    "token_url": ({"token_url": f"https://as.example.com/{HIDDEN}\x00x"}, {}),
    "issuer": ({"issuer": f"https://as.example.com/{HIDDEN}\x00x"}, {"token_url": None}),
    "client_id": ({"client_id": f"{HIDDEN}\x00admin"}, {}),
    "client_secret": ({"client_secret": f"{HIDDEN}\x00b"}, {}),
    "client_secret_file": ({"client_secret_file": f"/tmp/{HIDDEN}\x00x"}, {"client_secret": None}),
    "auth_method": ({"auth_method": "client_secret_post\x00x"}, {}),
    "scopes": ({"scopes": ["read", f"read\x00 {HIDDEN}"]}, {}),
    "audience": ({"audience": f"{HIDDEN}\x00x"}, {}),
    "resources": ({"resources": [f"https://rs/{HIDDEN}\x00x"]}, {}),
    "extra_params": ({"extra_params": {"k": f"{HIDDEN}\x00x"}}, {}),
    "user_agent": ({"user_agent": f"{HIDDEN}\x00x"}, {}),
    "private_key_jwk": ({"private_key_jwk": f'{{"kty":"{HIDDEN}\x00"}}'}, {}),
    "signing_alg": ({"signing_alg": "HS256\x00x"}, {}),
    "key_id": ({"key_id": f"{HIDDEN}\x00x"}, {}),
    "assertion_audience": ({"assertion_audience": f"https://aud/{HIDDEN}\x00x"}, {}),
}


def refused(option: str, call) -> None:
    with pytest.raises(cctoken.ConfigError) as info:
        call()
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert option in message and "NUL" in message, message
    assert HIDDEN not in message and HIDDEN not in repr(info.value), "the value must not be quoted"


@pytest.mark.parametrize("option", sorted(NUL_OPTIONS))
def test_nul_is_refused_in_every_string_option(option):
    given, overrides = NUL_OPTIONS[option]
    options = {**BASE, **given}
    for name, value in overrides.items():
        if value is None:
            options.pop(name)
    refused(option, lambda: cctoken.Client(**options))


def test_nul_in_an_extra_param_name_is_refused():
    refused("extra_params", lambda: cctoken.Client(**BASE, extra_params=[(f"{HIDDEN}\x00", "v")]))


def test_nul_is_refused_in_runtime_strings():
    with cctoken.Client(**BASE, dpop=True) as client:
        refused("client_secret", lambda: client.set_client_secret(f"{HIDDEN}\x00b"))
        refused("method", lambda: client.dpop_proof("GET\x00POST", "https://rs/x"))
        refused("url", lambda: client.dpop_proof("GET", f"https://rs/{HIDDEN}\x00x"))
        refused("nonce", lambda: client.dpop_proof("GET", "https://rs/x", nonce=f"{HIDDEN}\x00x"))
        # Without the NUL, the same calls work.
        assert client.dpop_proof("GET", "https://rs/x", nonce="n")


def jti(proof: str) -> str:
    payload = proof.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]


def test_dpop_proofs_in_a_forked_child_have_their_own_jti():
    with cctoken.Client(**BASE, dpop=True) as client:
        client.dpop_proof("GET", "https://rs/x")  # the generator is in use before the fork

        def child() -> dict:
            return {"jti": jti(client.dpop_proof("GET", "https://rs/x"))}

        in_child = run_in_child(child)["jti"]
        assert in_child != jti(client.dpop_proof("GET", "https://rs/x"))


def test_an_unknown_enum_value_is_quoted_bounded():
    with pytest.raises(cctoken.ConfigError) as info:
        cctoken.Client(**BASE, auth_method="x\n" * 100_000)
    assert len(str(info.value)) < 300 and "\n" not in str(info.value)


# -- redirects to another origin (the Go Transport's defect 3, checked in the Python adapters) --


def test_requests_sends_no_dpop_proof_to_another_origin(server, make_client):
    import requests
    from resource_server import ScriptedResource

    server.fault(token_type="DPoP", count=0)
    client = make_client(dpop=True)
    other = ScriptedResource([])
    first = ScriptedResource([(302, {"Location": other.url})])
    try:
        assert requests.get(first.url, auth=client.requests_auth(), timeout=10).status_code == 200
        assert first.requests[0]["headers"].get("dpop"), "the first hop is authorized"
        hop = other.requests[0]["headers"]
        assert "authorization" not in hop and "dpop" not in hop, "a credential followed the redirect"
    finally:
        first.close()
        other.close()


def test_httpx_a_401_from_another_origin_does_not_invalidate(server, make_client):
    import httpx
    from resource_server import ScriptedResource

    client = make_client()
    token = client.token()
    other = ScriptedResource([(401, {"WWW-Authenticate": "Bearer"})])
    first = ScriptedResource([(302, {"Location": other.url})])
    try:
        response = httpx.get(first.url, auth=client.httpx_auth(), follow_redirects=True, timeout=10)
        assert response.status_code == 401
        assert "authorization" not in other.requests[0]["headers"]
        assert len(first.requests) == 1, "no retry for a 401 to a request that carried no token"
        assert client.token().access_token == token.access_token, "the token was not invalidated"
        assert server.token_requests() == 1
    finally:
        first.close()
        other.close()
