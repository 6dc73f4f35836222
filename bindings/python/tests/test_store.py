"""Shared cache stores from Python: ``cache_dir=`` (one host) and ``redis_url=`` (a fleet),
with real processes and a real ``redis-server`` (Debian package) on a loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from devserver import SECRET, DevServer, fp

import cctoken

# One child process: a client on the shared store, prints a fingerprint of its token.
CHILD = textwrap.dedent(
    """
    import hashlib, sys, cctoken
    token_url, secret, store, where = sys.argv[1:5]
    kw = {"cache_dir": where} if store == "dir" else {"redis_url": where}
    with cctoken.Client(token_url=token_url, client_id="svc", client_secret=secret, scopes=["read"], **kw) as c:
        print(hashlib.sha256(c.token().access_token.encode()).hexdigest()[:12])
    """
)


def run_children(server: DevServer, store: str, where: str, n: int) -> list[str]:
    env = {k: v for k, v in os.environ.items()}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, server.token_url, SECRET, store, where],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for _ in range(n)
    ]
    prints = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err.decode()[-2000:]
        prints.append(out.decode().strip())
    return prints


def test_processes_sharing_a_cache_dir_make_one_token_request(server: DevServer, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    server.fault(latency_ms=700)
    prints = run_children(server, "dir", str(cache), 6)
    assert len(set(prints)) == 1, "every process got the one token"
    assert server.token_requests() == 1
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    (entry,) = cache.glob("*.entry")
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600


def test_store_metrics_and_a_refused_directory(make_client, server: DevServer, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = make_client(cache_dir=cache, scopes=["read"])
    token = first.token()
    assert first.metrics().store_misses == 1
    second = make_client(cache_dir=str(cache), scopes=["read"])
    assert fp(second.token().access_token) == fp(token.access_token)
    m = second.metrics()
    assert (m.store_hits, m.fetches, server.token_requests()) == (1, 1, 1)

    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    with pytest.raises(cctoken.ConfigError, match="writable by group or others"):
        make_client(cache_dir=open_dir)
    with pytest.raises(cctoken.ConfigError, match="not both"):
        make_client(cache_dir=cache, redis_url="redis://127.0.0.1:1")


class Redis:
    """redis-server on a free loopback port with a password, in a temp directory."""

    PASSWORD = "py-redis-Pa55"

    def __init__(self, directory: Path) -> None:
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is missing: apt-get install redis-server (see .ci/run)", pytrace=False)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(directory)]
        args += ["--save", "", "--appendonly", "no", "--requirepass", self.PASSWORD]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        self.url = f"redis://:{self.PASSWORD}@127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Redis]:
    r = Redis(tmp_path)
    try:
        yield r
    finally:
        r.stop()


def test_processes_sharing_redis_make_one_token_request(server: DevServer, redis: Redis, make_client) -> None:
    server.fault(latency_ms=700)
    prints = run_children(server, "redis", redis.url, 6)
    assert len(set(prints)) == 1
    assert server.token_requests() == 1
    client = make_client(redis_url=redis.url, scopes=["read"])
    assert fp(client.token().access_token) == prints[0]
    assert client.metrics().store_hits == 1
    assert redis.PASSWORD not in repr(client)
    # Redis gone: still a valid token, fetched directly, and the failure counted.
    redis.stop()
    alone = make_client(redis_url=redis.url, scopes=["read"], store_timeout=0.1)
    token = alone.token()
    assert server.resource_status(f"Bearer {token.access_token}") == 200
    assert alone.metrics().store_errors >= 1
    assert server.token_requests() == 2
