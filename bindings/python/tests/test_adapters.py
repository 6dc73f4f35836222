"""requests and httpx adapters: the Authorization header, 401 -> invalidate -> one retry, DPoP."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
from collections.abc import Iterator

import httpx
import pytest
import requests

import cctoken
from resource_server import ScriptedResource


@pytest.fixture
def resource() -> Iterator:
    servers: list[ScriptedResource] = []

    def make(*script: tuple[int, dict[str, str]]) -> ScriptedResource:
        servers.append(ScriptedResource(list(script)))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def jwt_payload(jwt: str) -> dict:
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def ath(token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()


# -- requests -----------------------------------------------------------------------------------


def test_requests_adds_the_token(server, make_client):
    client = make_client()
    response = requests.get(server.resource_url, auth=client.requests_auth(), timeout=10)
    assert response.status_code == 200
    assert response.json()["client_id"] == "svc"
    assert server.token_requests() == 1


def test_requests_retries_a_401_once_with_a_fresh_token(server, make_client):
    client = make_client()
    auth = client.requests_auth()
    first = client.token()
    assert server.revoke() == 1  # the resource server now rejects the cached token
    response = requests.get(server.resource_url, auth=auth, timeout=10)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert server.token_requests() == 2
    replaced = client.token().access_token != first.access_token
    assert replaced
    assert server.stats()["resource_requests"] == 2


def test_requests_gives_up_after_one_retry(make_client, resource):
    always = resource((401, {}), (401, {}), (401, {}))
    client = make_client()
    response = requests.post(always.url, data=b"payload", auth=client.requests_auth(), timeout=10)
    assert response.status_code == 401
    assert len(always.requests) == 2
    assert [r["body"] for r in always.requests] == [b"payload", b"payload"]
    assert client.metrics().fetches == 2  # the rejected token was invalidated once


def test_requests_rewinds_a_file_body(make_client, resource):
    api = resource((401, {}), (200, {}))
    client = make_client()
    response = requests.post(api.url, data=io.BytesIO(b"file body"), auth=client.requests_auth(), timeout=10)
    assert response.status_code == 200
    assert [r["body"] for r in api.requests] == [b"file body", b"file body"]


def test_requests_dpop_with_nonce_challenge(server, make_client, resource):
    server.fault(token_type="DPoP", count=0)
    challenge = {"WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": "nonce-1"}
    api = resource((401, challenge), (200, {}), (200, {}))
    client = make_client(dpop=True)
    auth = client.requests_auth()
    response = requests.get(api.url + "?page=2", auth=auth, timeout=10)
    assert response.status_code == 200
    token = client.token()
    first, second = api.requests
    for sent in (first, second):
        # Compared as booleans: a failing assertion must not print the token.
        sent_ours = sent["headers"]["authorization"] == token.authorization_header
        assert sent_ours
        assert token.token_type == "DPoP"
        claims = jwt_payload(sent["headers"]["dpop"])
        assert claims["htm"] == "GET"
        assert claims["htu"] == api.url  # without the query (RFC 9449 §4.2)
        assert claims["ath"] == ath(token.access_token)
    assert "nonce" not in jwt_payload(first["headers"]["dpop"])
    assert jwt_payload(second["headers"]["dpop"])["nonce"] == "nonce-1"
    assert server.token_requests() == 1  # a nonce challenge does not cost a token
    # The nonce is remembered for the next request to the same origin.
    requests.get(api.url, auth=auth, timeout=10)
    assert jwt_payload(api.requests[2]["headers"]["dpop"])["nonce"] == "nonce-1"


# -- httpx --------------------------------------------------------------------------------------


def test_httpx_sync_retry(server, make_client):
    client = make_client()
    with httpx.Client(auth=client.httpx_auth(), timeout=10) as http:
        assert http.get(server.resource_url).status_code == 200
        server.revoke()
        response = http.get(server.resource_url)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert server.token_requests() == 2


def test_httpx_async_retry(server, make_client):
    client = make_client()

    async def main() -> list[int]:
        async with httpx.AsyncClient(auth=client.httpx_auth(), timeout=10) as http:
            statuses = [(await http.get(server.resource_url)).status_code]
            server.revoke()
            response = await http.get(server.resource_url)
            statuses += [r.status_code for r in response.history] + [response.status_code]
            # Concurrent requests share the cached token.
            many = await asyncio.gather(*(http.get(server.resource_url) for _ in range(10)))
            statuses += [r.status_code for r in many]
            return statuses

    assert asyncio.run(main()) == [200, 401, 200] + [200] * 10
    assert server.token_requests() == 2


def test_httpx_gives_up_after_one_retry(make_client, resource):
    always = resource((401, {}), (401, {}), (401, {}))
    client = make_client()
    with httpx.Client(auth=client.httpx_auth(), timeout=10) as http:
        response = http.post(always.url, content=b"payload")
    assert response.status_code == 401
    assert [r["body"] for r in always.requests] == [b"payload", b"payload"]


def test_httpx_dpop_nonce_async(server, make_client, resource):
    server.fault(token_type="DPoP", count=0)
    challenge = {"WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": "n-42"}
    api = resource((401, challenge), (200, {}))
    client = make_client(dpop=True)

    async def main() -> int:
        async with httpx.AsyncClient(auth=client.httpx_auth(), timeout=10) as http:
            return (await http.post(api.url, content=b"x")).status_code

    assert asyncio.run(main()) == 200
    first, second = api.requests
    assert jwt_payload(first["headers"]["dpop"])["htm"] == "POST"
    assert jwt_payload(second["headers"]["dpop"])["nonce"] == "n-42"
    dpop_scheme = second["headers"]["authorization"].startswith("DPoP ")
    assert dpop_scheme


def test_adapter_errors_are_cctoken_errors(make_client, resource):
    api = resource()
    client = make_client(client_secret="wrong")
    with pytest.raises(cctoken.OAuthError):
        requests.get(api.url, auth=client.requests_auth(), timeout=10)
    with pytest.raises(cctoken.OAuthError), httpx.Client(auth=client.httpx_auth()) as http:
        http.get(api.url)
    assert api.requests == []  # nothing is sent without a token
