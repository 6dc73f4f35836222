"""A client used before os.fork() works in the child, with its own native client and cache."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time

import pytest
from devserver import fp, wait_for

import cctoken


def run_in_child(body, timeout: float = 20) -> dict:
    """Forks; the child runs `body()` and sends its JSON result back. Fails on a hang."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            os.close(read_end)
            result = body()
            os.write(write_end, json.dumps(result).encode())
            code = 0
        except BaseException as e:  # noqa: BLE001
            os.write(write_end, json.dumps({"error": f"{type(e).__name__}: {e}"}).encode())
        finally:
            os._exit(code)
    os.close(write_end)
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.02)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_end)
        pytest.fail(f"the child did not finish within {timeout} s (deadlock?)")
    with os.fdopen(read_end, "rb") as pipe:
        output = pipe.read()
    assert os.waitstatus_to_exitcode(status) == 0, output.decode()
    return json.loads(output)


@pytest.mark.parametrize("background_refresh", [False, True])
def test_child_gets_its_own_client(server, make_client, background_refresh):
    client = make_client(background_refresh=background_refresh)
    parent_token = client.token()
    for _ in range(3):
        client.token()

    def child() -> dict:
        token = client.token(timeout=5)
        client.token()
        m = client.metrics()
        return {"token": fp(token.access_token), "fetches": m.fetches, "hits": m.hits,
                "status": server.resource_status(token.authorization_header)}

    result = run_in_child(child)
    assert result["token"] != fp(parent_token.access_token)  # fetched anew, not inherited
    assert result["fetches"] == 1
    assert result["hits"] == 1  # the child's own count: the parent's hits are not inherited
    assert result["status"] == 200
    assert server.token_requests() == 2
    # The parent is untouched: same cached token, its own counters.
    assert client.token() is parent_token
    assert (client.metrics().fetches, client.metrics().hits) == (1, 4)


def test_fork_while_a_thread_is_inside_a_fetch(server, make_client):
    # The parent's fetch holds the library's single-flight state when fork() copies it; a child
    # that reused the copied client would wait forever for a fetch that no thread will finish.
    server.fault(latency_ms=1500)
    client = make_client()
    fetcher = threading.Thread(target=client.token, daemon=True)
    fetcher.start()
    assert wait_for(lambda: server.stats()["token_in_flight"] == 1, timeout=5)

    def child() -> dict:
        started = time.monotonic()
        token = client.token(timeout=5)
        return {"seconds": time.monotonic() - started, "type": token.token_type}

    result = run_in_child(child, timeout=20)
    assert result["type"] == "Bearer"
    assert result["seconds"] < 1.5  # did not wait for the parent's slow fetch
    fetcher.join(10)
    assert not fetcher.is_alive()


def test_closed_client_stays_closed_in_the_child(make_client):
    client = make_client()
    client.close()

    def child() -> dict:
        try:
            client.token()
        except cctoken.ClosedError:
            return {"closed": True}
        return {"closed": False}

    assert run_in_child(child)["closed"]


# multiprocessing with the 'fork' start method: workers inherit this module's global client.
_CLIENT: cctoken.Client | None = None


def _worker_task(_: int) -> tuple[str, int, int]:
    assert _CLIENT is not None
    token = _CLIENT.token(timeout=5)
    return fp(token.access_token), _CLIENT.metrics().fetches, os.getpid()


def test_multiprocessing_fork_pool(server, make_client):
    global _CLIENT
    _CLIENT = make_client()
    try:
        parent = fp(_CLIENT.token().access_token)
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(2) as pool:
            results = pool.map_async(_worker_task, range(8)).get(timeout=30)
    finally:
        _CLIENT = None
    workers = {pid for _, _, pid in results}
    assert all(token != parent for token, _, _ in results)
    # Each worker fetched once for itself and then served its own cache.
    assert all(fetches == 1 for _, fetches, _ in results)
    assert server.token_requests() == 1 + len(workers)
