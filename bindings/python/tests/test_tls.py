"""HTTPS, client certificates and PEM keys, with the dev server's generated CA (--tls-dir)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from devserver import SECRET, DevServer

import cctoken


@pytest.fixture
def tls_server(tmp_path) -> Iterator[DevServer]:
    srv = DevServer(tmp_path / "dev-server.log", tls_dir=tmp_path / "tls")
    try:
        yield srv
    finally:
        srv.stop()


def pem(server: DevServer, name: str) -> bytes:
    return (server.tls_dir / name).read_bytes()


def test_https_with_an_extra_root_ca(tls_server):
    assert tls_server.token_url.startswith("https://127.0.0.1:")
    with cctoken.Client(token_url=tls_server.token_url, client_id="svc", client_secret=SECRET,
                        root_ca_pem=pem(tls_server, "ca.pem")) as client:
        token = client.token()
        status = tls_server.resource_status(token.authorization_header)
        assert status == 200


def test_unknown_ca_is_a_tls_error(tls_server):
    with cctoken.Client(token_url=tls_server.token_url, client_id="svc", client_secret=SECRET,
                        retry_policy=cctoken.RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(cctoken.TlsError) as info:
            client.token()
    assert isinstance(info.value, cctoken.TransportError)
    assert info.value.status == 202


@pytest.mark.parametrize(("client_id", "method"), [("mtls", "tls_client_auth"),
                                                   ("self-signed", "self_signed_tls_client_auth")])
def test_client_certificate_auth(tls_server, client_id, method):
    with cctoken.Client(token_url=tls_server.token_url, client_id=client_id, auth_method=method,
                        root_ca_pem=[pem(tls_server, "ca.pem").decode()],
                        client_cert_pem=pem(tls_server, f"{client_id}.pem"),
                        client_key_pem=pem(tls_server, f"{client_id}-key.pem")) as client:
        # The server issues tokens to these clients only for their certificate.
        assert client.token().token_type == "Bearer"


def test_pem_keys(tls_server):
    key = pem(tls_server, "mtls-key.pem")  # a P-256 PKCS#8 key
    options = {"token_url": tls_server.token_url, "client_id": "svc", "root_ca_pem": pem(tls_server, "ca.pem")}
    # The same DPoP key gives the same thumbprint in two clients.
    with cctoken.Client(**options, client_secret=SECRET, dpop_key_pem=key) as a, \
            cctoken.Client(**options, client_secret=SECRET, dpop_key_pem=key.decode()) as b:
        same = a.dpop_jkt() == b.dpop_jkt()
        assert same
    cctoken.Client(**options, private_key_pem=key, auth_method="private_key_jwt", signing_alg="ES256",
                   key_id="k1").close()
