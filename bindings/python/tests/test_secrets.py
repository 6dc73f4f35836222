"""Neither the client secret nor an access token shows in a repr, str or exception."""

from __future__ import annotations

import pytest
from devserver import SECRET

import cctoken


def assert_clean(text: str, *secrets: str) -> None:
    leaked = [i for i, s in enumerate(secrets) if s in text]
    assert not leaked, f"secret #{leaked} appears in a text of {len(text)} characters"


def exception_texts(e: BaseException) -> list[str]:
    texts = [str(e), repr(e), str(e.args)]
    texts += [str(v) for v in vars(e).values()]
    return texts


def test_token_repr_and_str_are_redacted(make_client):
    token = make_client().token()
    for text in (repr(token), str(token), f"{token}", f"{token!r}", repr([token])):
        assert_clean(text, token.access_token)
        assert "[redacted]" in text


def test_client_repr_has_no_secret(make_client):
    client = make_client()
    assert_clean(repr(client), SECRET)
    assert_clean(str(client), SECRET)


def test_oauth_error_echoing_the_secret_is_redacted(server, make_client):
    # A server that echoes the credential back in its error text.
    server.fault(status=400, error="invalid_client", error_description=f"client secret {SECRET} is wrong")
    client = make_client(retry_policy=cctoken.RetryPolicy(max_attempts=1))
    with pytest.raises(cctoken.OAuthError) as info:
        client.token()
    assert info.value.error == "invalid_client"
    for text in exception_texts(info.value):
        assert_clean(text, SECRET)


def test_errors_after_a_token_was_issued_do_not_show_it(server, make_client):
    client = make_client(retry_policy=cctoken.RetryPolicy(max_attempts=1))
    token = client.token()
    client.invalidate(token)
    server.fault(status=500)
    with pytest.raises(cctoken.HttpError) as info:
        client.token()
    for text in exception_texts(info.value):
        assert_clean(text, SECRET, token.access_token)


def test_config_errors_do_not_show_the_secret():
    for options in (
        {"token_url": "not a url"},
        {"token_url": "http://as.example.com/t"},
        {"token_url": "https://as.example.com/t", "auth_method": "bogus"},
        {"token_url": "https://as.example.com/t", "extra_params": {"client_secret": SECRET}},
    ):
        with pytest.raises(cctoken.ConfigError) as info:
            cctoken.Client(client_id="svc", client_secret=SECRET, **options)
        for text in exception_texts(info.value):
            assert_clean(text, SECRET)
