"""The provider stand-ins of the dev server (--providers-dir): Microsoft Entra ID (client secret,
certificate credentials with x5t / x5t#S256 / x5c, PKCS#12, federated assertions) and Google
service accounts (the JWT bearer grant). The server generates every key, certificate and file
and describes them in providers.json; /_dev/last-assertion shows the header and claims of the
last assertion it received, so these tests check what was sent, not only that a token came back.
"""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devserver import DevServer, fp

import cctoken

ONE_ATTEMPT = cctoken.RetryPolicy(max_attempts=1)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """One server for the module: generating the fixtures (RSA keys, certificates, PKCS#12)
    costs more than a test."""
    base = tmp_path_factory.mktemp("providers")
    server = DevServer(base / "dev-server.log", providers_dir=base / "fixtures")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def manifest(srv: DevServer) -> dict[str, Any]:
    assert srv.providers is not None
    return srv.providers


@pytest.fixture
def clients() -> Iterator[list[cctoken.Client]]:
    made: list[cctoken.Client] = []
    yield made
    for client in made:
        client.close()


@pytest.fixture
def entra(manifest: dict[str, Any], clients: list[cctoken.Client]) -> Any:
    """Builds an Entra ID client: the stand-in's token URL and `.default` scope plus options."""
    e = manifest["entra"]

    def make(**options: Any) -> cctoken.Client:
        client = cctoken.Client(**{"token_url": e["token_url"], "scopes": [e["scope"]],
                                   "retry_policy": ONE_ATTEMPT, **options})
        clients.append(client)
        return client

    return make


def read(path: str) -> str:
    return Path(path).read_text()


def last_assertion(srv: DevServer, manifest: dict[str, Any]) -> dict[str, Any]:
    return json.loads(srv.get_text(manifest["last_assertion"]))


def form_names(seen: dict[str, Any]) -> set[str]:
    return set(seen["form"])


def jwt_part(jwt: str, i: int) -> dict[str, Any]:
    part = jwt.split(".")[i]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def pem_bodies(pem_text: str) -> list[str]:
    """The base64 bodies of the PEM blocks, one string each (x5c carries them unwrapped)."""
    blocks = re.findall(r"-----BEGIN [A-Z ]+-----(.*?)-----END", pem_text, re.S)
    return ["".join(b.split()) for b in blocks]


def federated_jwt(srv: DevServer, manifest: dict[str, Any], ttl: int) -> str:
    url = manifest["federation"]["token_endpoint"] + "?" + urllib.parse.urlencode({"ttl": ttl})
    return srv.get_text(url).strip()


def assert_clean(texts: list[str], **secrets: str) -> None:
    """No secret (named, for the message) appears in any of the texts."""
    for name, secret in secrets.items():
        assert secret, name
        for i, text in enumerate(texts):
            assert secret not in text, f"{name} (fp {fp(secret)}) appears in text #{i}"


def exception_texts(e: BaseException) -> list[str]:
    return [str(e), repr(e), str(e.args)] + [str(v) for v in vars(e).values()]


def key_fragment(pem_text: str) -> str:
    """A long piece of a private key's base64 body: what would show if the key leaked."""
    return pem_bodies(pem_text)[0][64:160]


# -- Entra ID: client secret --------------------------------------------------------------------


def test_entra_client_secret(srv, manifest, entra):
    sc = manifest["entra"]["secret_client"]
    client = entra(client_id=sc["client_id"], client_secret=sc["client_secret"])
    token = client.token()
    assert token.token_type == "Bearer"
    assert token.expires_in > 3000  # expires_in 3599
    assert_clean([repr(client), repr(token)], client_secret=sc["client_secret"], token=token.access_token)


def test_entra_wrong_client_secret_is_aadsts7000215(manifest, entra):
    sc = manifest["entra"]["secret_client"]
    wrong = "wrong-" + sc["client_secret"][::-1]
    with pytest.raises(cctoken.OAuthError) as info:
        entra(client_id=sc["client_id"], client_secret=wrong, failure_cooldown=0).token()
    e = info.value
    assert e.error == "invalid_client" and e.http_status == 401
    assert e.description is not None and e.description.startswith("AADSTS7000215: ")
    assert_clean(exception_texts(e), wrong=wrong, secret=sc["client_secret"])


# -- Entra ID: certificate credentials ----------------------------------------------------------


def test_entra_certificate_x5t_rs256(srv, manifest, entra):
    cc = manifest["entra"]["cert_client"]
    client = entra(client_id=cc["client_id"], private_key_pem=read(cc["key_pem"]),
                   assertion_certificate_pem=read(cc["cert_pem"]))
    assert client.token().token_type == "Bearer"
    seen = last_assertion(srv, manifest)
    header, claims = seen["header"], seen["claims"]
    assert header["alg"] == "RS256"
    assert header["typ"] == "JWT"
    assert header["x5t"] == cc["x5t"]  # the default with a certificate
    assert "x5t#S256" not in header and "x5c" not in header
    assert claims["aud"] == manifest["entra"]["token_url"]
    assert claims["iss"] == claims["sub"] == cc["client_id"]
    assert claims["jti"]
    assert claims["iat"] <= claims["exp"] and claims["exp"] > time.time()
    assert {"client_assertion", "client_assertion_type"} <= form_names(seen)
    assert "client_secret" not in form_names(seen)


def test_entra_certificate_x5t_s256_ps256(srv, manifest, entra):
    cc = manifest["entra"]["cert_client"]
    client = entra(client_id=cc["client_id"], private_key_pem=read(cc["key_pem"]),
                   assertion_certificate_pem=read(cc["cert_pem"]), thumbprint="x5t#S256", signing_alg="PS256")
    client.token()
    header = last_assertion(srv, manifest)["header"]
    assert header["alg"] == "PS256"
    assert header["x5t#S256"] == cc["x5t_s256"]
    assert "x5t" not in header


def test_entra_certificate_both_thumbprints_and_x5c(srv, manifest, entra):
    cc = manifest["entra"]["cert_client"]
    chain = read(cc["cert_pem"])
    client = entra(client_id=cc["client_id"], private_key_pem=read(cc["key_pem"]),
                   assertion_certificate_pem=chain.encode(), thumbprint="both", x5c=True)
    client.token()
    header = last_assertion(srv, manifest)["header"]
    assert header["x5t"] == cc["x5t"]
    assert header["x5t#S256"] == cc["x5t_s256"]
    # RFC 7515 §4.1.6: standard base64 DER, leaf first, the whole chain.
    assert header["x5c"] == pem_bodies(chain)
    assert len(header["x5c"]) >= 2


def test_entra_pkcs12_file_with_password(srv, manifest, entra):
    cc = manifest["entra"]["cert_client"]
    client = entra(client_id=cc["client_id"], pkcs12_file=cc["pfx"], pkcs12_password=cc["pfx_password"])
    client.token()
    assert last_assertion(srv, manifest)["header"]["x5t"] == cc["x5t"]
    text = repr(client)
    assert cc["pfx"] in text  # the path is fine to show; the password is not
    assert_clean([text, str(client)], pfx_password=cc["pfx_password"])


def test_entra_pkcs12_bytes_and_no_password(srv, manifest, entra):
    cc = manifest["entra"]["cert_client"]
    der = Path(cc["pfx"]).read_bytes()
    client = entra(client_id=cc["client_id"], pkcs12_der=der, pkcs12_password=cc["pfx_password"],
                   thumbprint="x5t#S256")
    client.token()
    assert last_assertion(srv, manifest)["header"]["x5t#S256"] == cc["x5t_s256"]

    client = entra(client_id=cc["client_id"], pkcs12_file=cc["pfx_no_password"])
    client.token()
    assert last_assertion(srv, manifest)["header"]["x5t"] == cc["x5t"]


def test_wrong_pkcs12_password_is_a_config_error(manifest):
    cc = manifest["entra"]["cert_client"]
    wrong = "not-the-" + cc["pfx_password"]
    with pytest.raises(cctoken.ConfigError) as info:
        cctoken.Client(token_url=manifest["entra"]["token_url"], client_id=cc["client_id"],
                       pkcs12_file=cc["pfx"], pkcs12_password=wrong)
    assert "pkcs12" in str(info.value).lower()
    assert_clean(exception_texts(info.value), wrong=wrong, pfx_password=cc["pfx_password"])


def test_certificate_of_another_key_is_a_config_error(manifest, tmp_path):
    # The Google service account's key is not the key of the Entra certificate.
    cc = manifest["entra"]["cert_client"]
    sa = json.loads(read(manifest["google"]["service_account_file"]))
    with pytest.raises(cctoken.ConfigError) as info:
        cctoken.Client(token_url=manifest["entra"]["token_url"], client_id=cc["client_id"],
                       private_key_pem=sa["private_key"], assertion_certificate_pem=read(cc["cert_pem"]))
    assert_clean(exception_texts(info.value), key=key_fragment(sa["private_key"]))


def test_unregistered_certificate_is_refused_with_the_aadsts_code(srv, manifest, entra):
    cc = manifest["entra"]["cert_client"]
    key = read(cc["key_pem"])
    client = entra(client_id=cc["client_id"], private_key_pem=key,
                   assertion_certificate_pem=read(cc["unregistered_cert_pem"]))
    with pytest.raises(cctoken.OAuthError) as info:
        client.token()
    e = info.value
    assert e.error == "invalid_client"
    assert e.http_status in (400, 401)
    assert e.description is not None and re.match(r"AADSTS\d+: ", e.description), e.description
    assert re.search(r"AADSTS\d+", str(e))
    # The header did name the other certificate (so the refusal is about the thumbprint).
    assert last_assertion(srv, manifest)["header"]["x5t"] != cc["x5t"]
    assert_clean(exception_texts(e), key=key_fragment(key))


def test_entra_refuses_an_assertion_valid_for_too_long(manifest, entra):
    # Microsoft documents a short lifetime for certificate assertions (5-10 minutes); the
    # stand-in refuses more than 10 with AADSTS700024, as Entra does.
    cc = manifest["entra"]["cert_client"]
    client = entra(client_id=cc["client_id"], pkcs12_file=cc["pfx"], pkcs12_password=cc["pfx_password"],
                   assertion_lifetime=3600)
    with pytest.raises(cctoken.OAuthError) as info:
        client.token()
    assert info.value.error == "invalid_client"
    assert info.value.description is not None and info.value.description.startswith("AADSTS700024: ")
    assert_clean(exception_texts(info.value), pfx_password=cc["pfx_password"])
    # Within the limit, the same credential works.
    entra(client_id=cc["client_id"], pkcs12_file=cc["pfx"], pkcs12_password=cc["pfx_password"],
          assertion_lifetime=300).token()


# -- Entra ID: federated credentials (workload identity) ----------------------------------------


def test_federated_assertion_file_is_reread_before_every_request(srv, manifest, entra, tmp_path):
    fc = manifest["entra"]["federated_client"]
    path = tmp_path / "azure-identity-token"
    first = federated_jwt(srv, manifest, ttl=600)
    path.write_text(first + "\n")
    client = entra(client_id=fc["client_id"], client_assertion_file=str(path))
    token = client.token()
    seen = last_assertion(srv, manifest)
    assert seen["claims"] == jwt_part(first, 1)
    assert seen["claims"]["sub"] == fc["subject"] and seen["claims"]["aud"] == fc["audience"]
    assert {"client_assertion", "client_assertion_type"} <= form_names(seen)
    assert client.token() is token  # cached: no new request

    # The platform rotates the file; the next request must send the new one.
    second = federated_jwt(srv, manifest, ttl=900)
    assert jwt_part(second, 1) != jwt_part(first, 1)
    path.write_text(second)
    client.invalidate(token)
    client.token()
    assert last_assertion(srv, manifest)["claims"] == jwt_part(second, 1)
    assert_clean([repr(client), str(client)], first=first, second=second)


def test_expired_federated_assertion_names_the_path(srv, manifest, entra, tmp_path):
    fc = manifest["entra"]["federated_client"]
    path = tmp_path / "expired-token"
    expired = federated_jwt(srv, manifest, ttl=-120)
    path.write_text(expired)
    # Refused at build or at the request (the file is read before every request).
    with pytest.raises(cctoken.CctokenError) as info:
        entra(client_id=fc["client_id"], client_assertion_file=str(path)).token()
    assert str(path) in str(info.value)
    assert "expired" in str(info.value).lower()
    assert_clean(exception_texts(info.value), assertion=expired, payload=expired.split(".")[1])


def test_missing_federated_assertion_file_names_the_path(manifest, entra, tmp_path):
    fc = manifest["entra"]["federated_client"]
    path = tmp_path / "not-written-yet"
    with pytest.raises(cctoken.CctokenError) as info:
        entra(client_id=fc["client_id"], client_assertion_file=path).token()  # a PathLike
    assert str(path) in str(info.value)


def test_federated_assertion_conflicts_with_a_secret_or_a_shared_store(manifest, tmp_path):
    with pytest.raises(cctoken.ConfigError, match="client_assertion_file|assertion"):
        cctoken.Client(token_url=manifest["entra"]["token_url"], client_id="x", client_secret="s",
                       client_assertion_file=str(tmp_path / "t"))
    # No stable credential to derive the store's key from.
    with pytest.raises(cctoken.ConfigError):
        cctoken.Client(token_url=manifest["entra"]["token_url"], client_id="x",
                       client_assertion_file=str(tmp_path / "t"), cache_dir=str(tmp_path / "cache"))


# -- Google service accounts: the JWT bearer grant ----------------------------------------------


def test_google_service_account_file(srv, manifest, clients):
    g = manifest["google"]
    sa = json.loads(read(g["service_account_file"]))
    client = cctoken.Client.from_service_account_file(g["service_account_file"], scopes=[g["scope"]])
    clients.append(client)
    token = client.token()
    assert token.access_token.startswith("ya29.")
    assert token.token_type == "Bearer"
    seen = last_assertion(srv, manifest)
    header, claims = seen["header"], seen["claims"]
    assert header["alg"] == "RS256" and header["kid"] == sa["private_key_id"]
    assert claims["iss"] == g["client_email"]
    assert claims["scope"] == g["scope"]
    assert claims["aud"] == g["token_url"] == sa["token_uri"]
    assert 0 < claims["exp"] - claims["iat"] <= 3600
    assert "sub" not in claims
    # RFC 7523 §2.1: the grant carries the assertion; no client authentication, no scope param.
    assert form_names(seen) >= {"grant_type", "assertion"}
    assert not form_names(seen) & {"client_assertion", "client_secret", "scope"}
    assert g["service_account_file"] in repr(client)
    assert_clean([repr(client), str(client)], key=key_fragment(sa["private_key"]))


def test_google_service_account_info_with_subject(srv, manifest, clients):
    g = manifest["google"]
    info = json.loads(read(g["service_account_file"]))
    client = cctoken.Client.from_service_account_info(
        info, scopes=[g["scope"], "https://www.googleapis.com/auth/userinfo.email"], subject="admin@example.com")
    clients.append(client)
    assert client.token().access_token.startswith("ya29.")
    claims = last_assertion(srv, manifest)["claims"]
    assert claims["sub"] == "admin@example.com"
    assert claims["scope"] == g["scope"] + " https://www.googleapis.com/auth/userinfo.email"
    assert_clean([repr(client), str(client)], key=key_fragment(info["private_key"]))


def test_google_jwt_bearer_with_explicit_options(srv, manifest, clients):
    # The grant without the key file: what a non-Google RFC 7523 server needs.
    g = manifest["google"]
    sa = json.loads(read(g["service_account_file"]))
    client = cctoken.Client(token_url=g["token_url"], client_id=sa["client_email"], grant_type="jwt_bearer",
                            private_key_pem=sa["private_key"], key_id=sa["private_key_id"],
                            scopes=[g["scope"]], assertion_lifetime=3600)
    clients.append(client)
    assert client.token().access_token.startswith("ya29.")
    claims = last_assertion(srv, manifest)["claims"]
    assert claims["exp"] - claims["iat"] == 3600


@pytest.mark.parametrize("field", ["type", "client_email", "private_key", "private_key_id", "token_uri"])
def test_service_account_file_missing_a_field(manifest, tmp_path, field):
    info = json.loads(read(manifest["google"]["service_account_file"]))
    del info[field]
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(info))
    with pytest.raises(cctoken.ConfigError) as info_e:
        cctoken.Client.from_service_account_file(path, scopes=["s"])
    message = str(info_e.value)
    assert field in message and str(path) in message
    texts = exception_texts(info_e.value)
    if field != "private_key":
        assert_clean(texts, key=key_fragment(info["private_key"]))
    with pytest.raises(cctoken.ConfigError) as info_e:
        cctoken.Client.from_service_account_info(info, scopes=["s"])
    assert field in str(info_e.value)


def test_google_refuses_a_key_it_does_not_know(srv, manifest, clients):
    # Signed with the Entra certificate's key: Google's "Invalid JWT Signature." answer.
    g = manifest["google"]
    info = json.loads(read(g["service_account_file"]))
    info["private_key"] = read(manifest["entra"]["cert_client"]["key_pem"])
    client = cctoken.Client.from_service_account_info(info, scopes=[g["scope"]], retry_policy=ONE_ATTEMPT)
    clients.append(client)
    with pytest.raises(cctoken.OAuthError) as e:
        client.token()
    assert e.value.error == "invalid_grant"
    assert e.value.description == "Invalid JWT Signature."
    assert_clean(exception_texts(e.value), key=key_fragment(info["private_key"]))


# -- Options checked in Python (no server) ------------------------------------------------------

BASE = {"token_url": "https://login.example.com/t/oauth2/v2.0/token", "client_id": "app"}


def test_enum_values(manifest):
    cc = manifest["entra"]["cert_client"]
    for value in ("x5t", "x5t#S256", "both", "none"):
        cctoken.Client(**BASE, pkcs12_file=cc["pfx_no_password"], thumbprint=value).close()
    cctoken.Client(**BASE, client_secret="s", grant_type="client_credentials").close()
    with pytest.raises(cctoken.ConfigError, match="thumbprint"):
        cctoken.Client(**BASE, client_secret="s", thumbprint="sha1")
    with pytest.raises(cctoken.ConfigError, match="grant_type"):
        cctoken.Client(**BASE, client_secret="s", grant_type="password")


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"pkcs12_der": "text"}, TypeError),
        ({"x5c": "yes"}, TypeError),
        ({"service_account_info": 42}, TypeError),
        ({"service_account_info": {"bad": object()}}, TypeError),
        ({"pkcs12_password": "p"}, cctoken.ConfigError),
        ({"pkcs12_file": "a.pfx", "pkcs12_der": b"x"}, cctoken.ConfigError),
        ({"service_account_file": "a.json", "service_account_info": {}}, cctoken.ConfigError),
        ({"pkcs12_file": "a\x00.pfx"}, cctoken.ConfigError),
    ],
)
def test_bad_option_values(options, error):
    with pytest.raises(error):
        cctoken.Client(**BASE, **options)


def test_thumbprint_without_certificate_is_a_config_error():
    with pytest.raises(cctoken.ConfigError, match="thumbprint|certificate"):
        cctoken.Client(**BASE, client_secret="s", thumbprint="x5t#S256")
    with pytest.raises(cctoken.ConfigError, match="x5c|certificate"):
        cctoken.Client(**BASE, client_secret="s", x5c=True)


def test_secret_options_are_listed_as_secret():
    from cctoken import _config

    assert {"pkcs12_password", "pkcs12_der", "service_account_info"} <= _config.SECRET_OPTIONS
    assert not {"pkcs12_file", "service_account_file", "client_assertion_file"} & _config.SECRET_OPTIONS

