from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable

import pytest
from devserver import SECRET, DevServer
from interopserver import InteropServer, InteropServerMissing

import cctoken


@pytest.fixture
def server(tmp_path) -> Iterator[DevServer]:
    """A fresh dev server per test, so counters and faults never leak between tests."""
    srv = DevServer(tmp_path / "dev-server.log")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def make_client(server: DevServer) -> Iterator[Callable[..., cctoken.Client]]:
    """Builds clients for `server` (client `svc` unless overridden); closes them afterwards."""
    clients: list[cctoken.Client] = []

    def make(**options: Any) -> cctoken.Client:
        defaults = {"token_url": server.token_url, "client_id": "svc", "client_secret": SECRET}
        if "client_secret_file" in options:
            defaults.pop("client_secret")
        client = cctoken.Client(**{**defaults, **options})
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture(scope="session")
def interop() -> Iterator[InteropServer]:
    """oidc-provider (tests/interop/server.mjs), one for the whole session. Missing
    node_modules fail every interop test with what to run; they are never skipped."""
    missing = None
    try:
        srv = InteropServer()
    except InteropServerMissing as e:
        missing = str(e)
    if missing is not None:
        pytest.fail(missing, pytrace=False)
    try:
        yield srv
    finally:
        srv.stop()
