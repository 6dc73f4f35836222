"""Configuration errors: caught in Python (types, names) or by the library (values)."""

from __future__ import annotations

import pytest
from devserver import SECRET

import cctoken

BASE = {"token_url": "https://as.example.com/token", "client_id": "svc", "client_secret": SECRET}


def config_error(**options) -> cctoken.ConfigError:
    with pytest.raises(cctoken.ConfigError) as info:
        cctoken.Client(**{**BASE, **options})
    assert isinstance(info.value, ValueError)
    assert info.value.status == 100
    return info.value


def test_valid_configuration_needs_no_network():
    cctoken.Client(**BASE).close()


def test_issuer_instead_of_token_url():
    options = {k: v for k, v in BASE.items() if k != "token_url"}
    cctoken.Client(**options, issuer="https://as.example.com").close()


def test_bad_url():
    assert "token_url" in str(config_error(token_url="not a url"))


def test_plain_http_only_on_loopback():
    assert "token_url" in str(config_error(token_url="http://as.example.com/token"))
    cctoken.Client(**{**BASE, "token_url": "http://as.example.com/token", "allow_insecure_http": True}).close()
    cctoken.Client(**{**BASE, "token_url": "http://127.0.0.1:1/token"}).close()


def test_missing_client_id():
    options = dict(BASE)
    del options["client_id"]
    with pytest.raises(cctoken.ConfigError, match="client_id"):
        cctoken.Client(**options)


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="scope\\b"):
        cctoken.Client(**BASE, scope="read")


@pytest.mark.parametrize(
    ("option", "value"),
    [("token_url", 1), ("scopes", 5), ("connect_timeout", "5"), ("dpop", 1), ("refresh_policy", {"ratio": 1})],
)
def test_wrong_types(option, value):
    with pytest.raises(TypeError):
        cctoken.Client(**{**BASE, option: value})


def test_enum_names():
    assert "auth_method" in str(config_error(auth_method="client_secret_basik"))
    assert "signing_alg" in str(config_error(signing_alg="none"))
    for method in ("client_secret_basic", "client_secret_basic_raw", "client_secret_post", "client_secret_jwt"):
        cctoken.Client(**BASE, auth_method=method).close()


def test_negative_or_infinite_durations():
    config_error(request_timeout=-1)
    config_error(call_timeout=float("inf"))


def test_conflicting_options(tmp_path):
    config_error(client_secret_file=str(tmp_path / "s"))
    config_error(client_cert_pem="-----BEGIN CERTIFICATE-----")
    config_error(reread_secret_file=True)


def test_library_validates_values():
    assert "private_key" in str(config_error(private_key_pem="not a key", auth_method="private_key_jwt"))
    config_error(dpop_key_pem=b"not a key")
    config_error(resources=["not absolute"])
    config_error(extra_params={"grant_type": "password"})


def test_private_key_jwt_with_jwk_and_custom_audience():
    # An EC P-256 test key (RFC 7515 appendix A.3), only ever used here.
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI",
    }
    options = {k: v for k, v in BASE.items() if k != "client_secret"}
    client = cctoken.Client(**options, private_key_jwk=jwk, key_id="k1", signing_alg="ES256",
                            assertion_audience="https://as.example.com", assertion_lifetime=30)
    client.close()
    cctoken.Client(**options, private_key_jwk=jwk, assertion_audience="token_endpoint").close()
