"""Trust store (`trust_store`, SSL_CERT_FILE) and proxy (`proxy`) options, against the dev server
in HTTPS mode and a real tinyproxy (Debian package) on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

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


class Tinyproxy:
    """tinyproxy on a free 127.0.0.1 port with its log in `directory`; `stop()` ends it."""

    def __init__(self, directory: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = directory / "tinyproxy.log"
        conf = directory / "tinyproxy.conf"
        conf.write_text(f'Port {self.port}\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\nLogLevel Info\n'
                        f'LogFile "{self.log}"\n')
        self.process = subprocess.Popen(["tinyproxy", "-d", "-c", str(conf)], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started = time.monotonic()
        deadline = started + 120  # generous: a loaded 2-core CI machine is slow to start anything
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                if (took := time.monotonic() - started) > 5:
                    print(f"note: tinyproxy took {took:.1f} s to start", file=sys.stderr)
                return
            except OSError:
                assert self.process.poll() is None, "tinyproxy exited at start"
                time.sleep(0.05)
        self.stop()
        raise AssertionError("tinyproxy did not start within 120 s")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connects_to(self, port: int) -> int:
        text = self.log.read_text() if self.log.exists() else ""
        return text.count(f"CONNECT 127.0.0.1:{port} ")

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def tinyproxy(tmp_path) -> Iterator[Tinyproxy]:
    proxy = Tinyproxy(tmp_path)
    try:
        yield proxy
    finally:
        proxy.stop()


def options(server: DevServer, **extra: object) -> dict[str, object]:
    return {"token_url": server.token_url, "client_id": "svc", "client_secret": SECRET,
            "retry_policy": cctoken.RetryPolicy(max_attempts=1), **extra}


def test_root_ca_only_trusts_only_the_given_certificates(tls_server, tmp_path):
    ca = (tls_server.tls_dir / "ca.pem").read_bytes()
    with cctoken.Client(**options(tls_server, trust_store="root_ca_only", root_ca_pem=ca)) as client:
        assert client.token().access_token
    # Another CA (a second dev server's) is not enough.
    other_server = DevServer(tmp_path / "other.log", tls_dir=tmp_path / "other-tls")
    try:
        other = (other_server.tls_dir / "ca.pem").read_bytes()
    finally:
        other_server.stop()
    assert other != ca
    with cctoken.Client(**options(tls_server, trust_store="root_ca_only", root_ca_pem=other)) as client:
        with pytest.raises(cctoken.TlsError):
            client.token()
    with pytest.raises(cctoken.ConfigError, match="root_ca_pem"):
        cctoken.Client(**options(tls_server, trust_store="root_ca_only"))
    with pytest.raises(cctoken.ConfigError, match="trust_store"):
        cctoken.Client(**options(tls_server, trust_store="mozilla"))


def test_ssl_cert_file_is_the_system_store(tls_server):
    # The environment is process-wide: a child interpreter gets SSL_CERT_FILE.
    script = (
        "import sys, cctoken\n"
        "opts = dict(token_url=sys.argv[1], client_id='svc', client_secret=sys.argv[2], trust_store=sys.argv[3],\n"
        "            retry_policy=cctoken.RetryPolicy(max_attempts=1))\n"
        "try:\n"
        "    with cctoken.Client(**opts) as c: c.token(); print('token')\n"
        "except cctoken.TlsError: print('tls error')\n"
    )
    env = {**os.environ, "SSL_CERT_FILE": str(tls_server.tls_dir / "ca.pem")}
    env.pop("SSL_CERT_DIR", None)

    def run(store: str) -> str:
        out = subprocess.run([sys.executable, "-c", script, tls_server.token_url, SECRET, store], env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    assert run("system") == "token"
    assert run("bundled") == "tls error"


def test_token_through_a_proxy(tls_server, tinyproxy):
    ca = (tls_server.tls_dir / "ca.pem").read_bytes()
    port = int(tls_server.token_url.rsplit(":", 1)[1].split("/")[0])
    with cctoken.Client(**options(tls_server, root_ca_pem=ca, proxy=tinyproxy.url)) as client:
        assert client.token().access_token
    assert tinyproxy.connects_to(port) == 1
    with cctoken.Client(**options(tls_server, root_ca_pem=ca, proxy="none")) as client:
        client.token()
    assert tinyproxy.connects_to(port) == 1, "proxy='none' went direct"


def test_proxy_refusals_never_show_the_password(server):
    with pytest.raises(cctoken.ConfigError, match="in clear") as info:
        cctoken.Client(**options(server, proxy="http://alice:py-proxy-pw-8812@127.0.0.1:3128"))
    assert "py-proxy-pw-8812" not in str(info.value) + repr(info.value)
    with pytest.raises(TypeError):
        cctoken.Client(**options(server, proxy=3128))
