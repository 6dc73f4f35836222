"""Client against a real dev server: fetch and cache, options on the wire, errors, metrics."""

from __future__ import annotations

import time

import pytest
from devserver import SECRET, wait_for

import cctoken


def test_fetch_then_cache(server, make_client):
    client = make_client(scopes=["read"])
    first = client.token()
    second = client.token()
    assert second is first  # the fast path hands out the same object
    assert server.token_requests() == 1
    assert first.token_type == "Bearer"
    assert first.scope == "read"
    assert 3590 < first.expires_in <= 3600
    assert abs(first.expires_at - (time.time() + 3600)) < 10
    status = server.resource_status(first.authorization_header)
    assert status == 200


def test_token_fields_without_fast_path_copy(server, make_client):
    # A refresh window wider than half the lifetime is capped at half: fresh for ~30 min.
    client = make_client(refresh_policy=cctoken.RefreshPolicy(ratio=0.5, min_window=0, jitter=0))
    token = client.token()
    assert 1790 < client._current[1] - time.monotonic() <= 1800
    assert token.scope == "read write"


def test_fast_path_ends_at_the_refresh_point(server, make_client):
    # 2 s tokens, refreshed during their second half: the binding may serve its copy for 1 s.
    client = make_client(client_id="short-svc", refresh_policy=cctoken.RefreshPolicy(ratio=0.5, min_window=0, jitter=0))
    first = client.token()
    assert client.token() is first
    time.sleep(1.1)
    # Past the refresh point the call reaches the library, which answers with the still-valid
    # token and refreshes in the background.
    still = client.token()
    same = still.access_token == first.access_token
    assert same
    assert wait_for(lambda: server.token_requests() == 2, timeout=5)
    assert wait_for(lambda: client.token().access_token != first.access_token, timeout=5)
    assert client.metrics().fetches == 2


def test_metrics_count_fast_path_hits(make_client):
    client = make_client()
    client.token()
    for _ in range(5):
        client.token()
    m = client.metrics()
    assert isinstance(m, cctoken.Metrics)
    assert m.fetches == 1 and m.misses == 1 and m.fetch_failures == 0
    assert m.hits == 5
    assert m.last_fetch_latency > 0
    # Reading the counters does not count as a hit (the lock-free counter is read by taking a
    # value from it).
    assert client.metrics().hits == 5
    client.token()
    assert client.metrics().hits == 6


def test_token_is_read_only(make_client):
    token = make_client().token()
    for name in ("access_token", "token_type", "scope", "expires_at", "authorization_header", "other"):
        with pytest.raises(AttributeError):
            setattr(token, name, "x")
        with pytest.raises(AttributeError):
            delattr(token, name)
    ok = token.authorization_header == f"Bearer {token.access_token}"
    assert ok


def test_invalidate_fetches_a_new_token(server, make_client):
    client = make_client()
    old = client.token()
    client.invalidate(old)
    new = client.token()
    assert new is not old
    changed = old.access_token != new.access_token
    assert changed
    assert server.token_requests() == 2
    # Invalidating a token that was already replaced changes nothing.
    client.invalidate(old)
    assert client.token() is new
    assert server.token_requests() == 2


def test_invalid_client_has_the_oauth_fields(server, make_client):
    client = make_client(client_secret="wrong-secret", failure_cooldown=0)
    with pytest.raises(cctoken.OAuthError) as info:
        client.token()
    e = info.value
    assert isinstance(e, cctoken.TokenEndpointError) and isinstance(e, cctoken.CctokenError)
    assert e.error == "invalid_client"
    assert e.description == "client authentication failed"
    assert e.uri is None
    assert e.http_status == 401
    assert e.retryable is False
    assert e.retry_after is None
    assert e.status == 301
    assert "invalid_client" in str(e)


def test_credential_failure_cools_down_until_the_secret_changes(server, make_client):
    client = make_client(client_secret="wrong-secret")
    for _ in range(3):
        with pytest.raises(cctoken.OAuthError):
            client.token()
    assert server.token_requests() == 1  # the cool-down repeats the error without asking
    client.set_client_secret(SECRET)
    assert client.token().token_type == "Bearer"
    assert server.token_requests() == 2


def test_retryable_http_error_with_retry_after(server, make_client):
    server.fault(status=503, retry_after="7", count=0)
    client = make_client(retry_policy=cctoken.RetryPolicy(max_attempts=1))
    with pytest.raises(cctoken.HttpError) as info:
        client.token()
    assert info.value.http_status == 503
    assert info.value.retryable is True
    assert info.value.retry_after == 7.0


def test_transient_failures_are_retried(server, make_client):
    server.fault(status=503, count=2)
    client = make_client(retry_policy=cctoken.RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02))
    client.token()
    assert server.token_requests() == 3
    assert client.metrics().retries == 2


def test_invalid_response(server, make_client):
    server.fault(body="malformed")
    client = make_client(retry_policy=cctoken.RetryPolicy(max_attempts=1))
    with pytest.raises(cctoken.InvalidResponseError) as info:
        client.token()
    assert info.value.status == 302


def test_connect_error(make_client):
    client = cctoken.Client(token_url="http://127.0.0.1:9/token", client_id="svc", client_secret=SECRET,
                            retry_policy=cctoken.RetryPolicy(max_attempts=1))
    with pytest.raises(cctoken.ConnectError) as info:
        client.token()
    assert isinstance(info.value, cctoken.TransportError)
    assert info.value.retryable is True
    client.close()


def test_timeout_per_call(server, make_client):
    server.fault(latency_ms=3000)
    client = make_client(retry_policy=cctoken.RetryPolicy(max_attempts=1))
    started = time.monotonic()
    with pytest.raises(cctoken.TimeoutError) as info:
        client.token(timeout=0.3)
    elapsed = time.monotonic() - started
    assert 0.25 < elapsed < 2.5
    assert isinstance(info.value, TimeoutError)  # also the built-in
    assert isinstance(info.value, cctoken.TransportError)
    with pytest.raises(ValueError):
        client.token(timeout=-1)
    with pytest.raises(TypeError):
        client.token(timeout="1")


def test_call_timeout_option(server, make_client):
    server.fault(latency_ms=3000)
    client = make_client(call_timeout=0.3, retry_policy=cctoken.RetryPolicy(max_attempts=1))
    started = time.monotonic()
    with pytest.raises(cctoken.TimeoutError):
        client.token()
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize(
    ("client_id", "auth_method", "seen"),
    [
        ("basic-svc", "client_secret_basic", "basic"),
        ("basic-svc", "client_secret_basic_raw", "basic"),
        ("post-svc", "client_secret_post", "post"),
    ],
)
def test_auth_methods(server, make_client, client_id, auth_method, seen):
    client = make_client(client_id=client_id, auth_method=auth_method)
    client.token()
    assert server.last_token_request()["auth_method"] == seen


def test_request_options_reach_the_server(server, make_client):
    client = make_client(
        scopes=["read", "write"],
        audience="api://orders",
        resources=["https://api.example.com/a", "https://api.example.com/b"],
        extra_params={"tenant": "t1"},
        user_agent="cctoken-py-test/1",
    )
    client.token()
    seen = server.last_token_request()
    params = seen["params"]
    assert params["scope"] == ["read write"]
    assert params["audience"] == ["api://orders"]
    assert params["resource"] == ["https://api.example.com/a", "https://api.example.com/b"]
    assert params["tenant"] == ["t1"]
    assert seen["headers"]["user-agent"] == "cctoken-py-test/1"


def test_single_scope_string_is_one_scope(server, make_client):
    make_client(scopes="read").token()
    assert server.last_token_request()["params"]["scope"] == ["read"]


def test_client_secret_file_reread(server, make_client, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("wrong\n")
    client = make_client(client_secret_file=secret_file, reread_secret_file=True, failure_cooldown=0)
    with pytest.raises(cctoken.OAuthError):
        client.token()
    secret_file.write_text(SECRET + "\n")
    assert client.token().token_type == "Bearer"


def test_every_option_is_accepted(server, make_client):
    client = make_client(
        auth_method="client_secret_basic",
        connect_timeout=2.0,
        request_timeout=3.5,
        call_timeout=10,
        default_lifetime=120,
        refresh_policy=cctoken.RefreshPolicy(ratio=0.2, min_window=5, jitter=0),
        retry_policy=cctoken.RetryPolicy(max_attempts=2, base_delay=0.05, max_delay=0.5),
        failure_cooldown=0,
        allow_insecure_http=False,
        background_refresh=True,
        assertion_lifetime=30,
        signing_alg="HS256",
        key_id="k1",
    )
    assert client.token().token_type == "Bearer"


def test_dpop(server, make_client):
    client = make_client(dpop=True)
    assert len(client.dpop_jkt()) == 43  # base64url SHA-256
    token = client.token()
    proof = client.dpop_proof("GET", server.resource_url, token)
    assert proof.count(".") == 2
    differs = client.dpop_proof("POST", server.resource_url, nonce="n-1") != proof
    assert differs
    plain = make_client()
    with pytest.raises(cctoken.ConfigError):
        plain.dpop_jkt()
    with pytest.raises(cctoken.ConfigError):
        plain.dpop_proof("GET", server.resource_url)


def test_dpop_token_type(server, make_client):
    server.fault(token_type="DPoP")
    token = make_client(dpop=True).token()
    assert token.token_type == "DPoP"
    dpop_scheme = token.authorization_header.startswith("DPoP ")
    assert dpop_scheme


def test_close_is_idempotent_and_final(make_client):
    client = make_client()
    client.token()
    client.close()
    client.close()
    assert client.closed
    with pytest.raises(cctoken.ClosedError):
        client.token()
    with pytest.raises(cctoken.ClosedError):
        client.metrics()


def test_context_manager(server):
    with cctoken.Client(token_url=server.token_url, client_id="svc", client_secret=SECRET) as client:
        client.token()
    assert client.closed


def test_del_without_close(server):
    client = cctoken.Client(token_url=server.token_url, client_id="svc", client_secret=SECRET)
    token = client.token()
    del client  # frees the native client; the token stays readable
    assert token.token_type == "Bearer"


def test_token_cannot_be_made_or_pickled(make_client):
    import pickle

    with pytest.raises(TypeError):
        cctoken.Token()
    with pytest.raises(TypeError):
        pickle.dumps(make_client().token())


def test_exceptions_pickle():
    import pickle

    e = cctoken.OAuthError("m", status=301, error="invalid_client", http_status=401)
    copy = pickle.loads(pickle.dumps(e))
    assert type(copy) is cctoken.OAuthError
    assert (copy.error, copy.http_status, str(copy)) == ("invalid_client", 401, "m")


def test_version():
    assert cctoken.version() == "0.1.0"
    assert cctoken.ABI_VERSION == 2
