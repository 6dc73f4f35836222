"""Many threads: one token request for all of them, and close() while they are inside."""

from __future__ import annotations

import threading
import time

from devserver import wait_for

import cctoken
from cctoken import _native


def run_threads(count: int, target, timeout: float = 20) -> list:
    """Runs `target()` on `count` threads started together; their results or exceptions."""
    results: list = [None] * count
    barrier = threading.Barrier(count)

    def worker(i: int) -> None:
        barrier.wait(timeout=10)
        try:
            results[i] = target()
        except BaseException as e:  # noqa: BLE001 - reported to the test
            results[i] = e

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "threads did not finish in time"
    return results


def test_32_threads_cause_one_token_request(server, make_client):
    server.fault(latency_ms=300)  # keeps the first request in flight while the others arrive
    client = make_client()
    results = run_threads(32, client.token)
    errors = [r for r in results if not isinstance(r, cctoken.Token)]
    assert not errors, f"{len(errors)} threads failed: {errors[:1]!r}"
    distinct = len({r.access_token for r in results})
    assert distinct == 1
    assert server.token_requests() == 1
    m = client.metrics()
    assert m.fetches == 1
    assert m.misses + m.hits == 32


def test_fast_path_hits_are_counted_exactly_across_threads(make_client):
    # The fast path counts hits without a lock; none may be lost while threads race each other
    # and metrics() reads the counter.
    client = make_client()
    client.token()
    threads, per_thread = 8, 20_000

    def hammer() -> int:
        for _ in range(per_thread):
            client.token()
        return client.metrics().hits

    results = run_threads(threads, hammer)
    errors = [r for r in results if not isinstance(r, int)]
    assert not errors, f"{len(errors)} threads failed: {errors[:1]!r}"
    m = client.metrics()
    assert (m.fetches, m.misses, m.hits) == (1, 1, threads * per_thread)


def test_gil_is_released_while_fetching(server, make_client):
    server.fault(latency_ms=800)
    client = make_client()
    fetcher = threading.Thread(target=client.token, daemon=True)
    fetcher.start()
    assert wait_for(lambda: server.stats()["token_in_flight"] == 1, timeout=5)
    # Python code keeps running while the other thread waits inside the library.
    spins, deadline = 0, time.monotonic() + 0.3
    while time.monotonic() < deadline:
        spins += 1
    assert fetcher.is_alive()
    assert spins > 10_000
    fetcher.join(10)


def test_close_waits_for_calls_in_flight(server, make_client, monkeypatch):
    freed = []
    real_free = _native.lib.cct_client_free
    monkeypatch.setattr(_native.lib, "cct_client_free", lambda ptr: (freed.append(time.monotonic()), real_free(ptr)))

    server.fault(latency_ms=600)
    client = make_client()
    handle = client._handle
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(_call(client.token)), daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    assert wait_for(lambda: handle.inflight == 8, timeout=5)

    started = time.monotonic()
    client.close()
    assert time.monotonic() - started < 0.2  # close() does not wait for the fetch
    assert not freed  # ...and does not free the native client under the 8 callers
    with_error = _call(client.token)
    assert isinstance(with_error, cctoken.ClosedError)

    for t in threads:
        t.join(10)
    assert len(results) == 8
    assert all(isinstance(r, cctoken.Token) for r in results), results
    returned_last = time.monotonic()
    assert len(freed) == 1 and freed[0] <= returned_last  # freed once, by the last caller out
    assert handle.inflight == 0


def test_close_during_a_storm_of_calls(server, make_client):
    client = make_client()
    stop = time.monotonic() + 0.5
    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def hammer() -> None:
        for i in range(100_000):
            if time.monotonic() > stop:
                break
            try:
                token = client.token()
                if i % 7 == 0:
                    client.invalidate(token)
                if i % 11 == 0:
                    client.metrics()
                kind = "ok"
            except cctoken.ClosedError:
                kind = "closed"
            except Exception as e:  # noqa: BLE001 - anything else fails the test
                kind = type(e).__name__
            with lock:
                outcomes[kind] = outcomes.get(kind, 0) + 1

    threads = [threading.Thread(target=hammer, daemon=True) for _ in range(16)]
    for t in threads:
        t.start()
    time.sleep(0.15)
    client.close()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert set(outcomes) <= {"ok", "closed"}, outcomes
    assert outcomes.get("ok") and outcomes.get("closed")


def _call(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001
        return e
