"""The Python scenarios of `make bench`: the cctoken binding and the Python peers, each used
as its documentation shows.

    python bench.py [--smoke] [p1] [p3] [p4] [p5] [p6]      (all when none is named)

The dev server comes from CCTOKEN_BENCH_TOKEN_URL, CCTOKEN_BENCH_CLIENT_ID and
CCTOKEN_BENCH_CLIENT_SECRET; the binding from PYTHONPATH (bindings/python) and CCTOKEN_LIBRARY.
Prints one JSON result per line for benches/run.py.

How each peer gets "the current token" (what a hit measures):

- authlib: OAuth2Session(..., token_endpoint=URL, grant_type="client_credentials") is its
  auto-refresh usage: before each request it calls ensure_active_token(), which fetches a new
  token when the current one is within `leeway` (60 s) of expiry. It needs an explicit first
  fetch_token(); done lazily here (`if not session.token`).
- httpx-auth: OAuth2ClientCredentials is an httpx.Auth; on each request it reads the token from
  its process-wide cache (OAuth2.token_cache.get_token, under a lock; 30 s early expiry) and
  calls request_new_token() when missing. We call that same cache lookup.
- requests-oauthlib: BackendApplicationClient + OAuth2Session.fetch_token() has no cache or
  auto-refresh for this grant (its docs: catch TokenExpiredError and fetch again); the
  application keeps session.token and checks `expires_at` with a 30 s margin.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import timeit
import urllib.request

TOKEN_URL = os.environ.get("CCTOKEN_BENCH_TOKEN_URL", "")
CLIENT_ID = os.environ.get("CCTOKEN_BENCH_CLIENT_ID", "")
CLIENT_SECRET = os.environ.get("CCTOKEN_BENCH_CLIENT_SECRET", "")
BASE = TOKEN_URL.removesuffix("/token")
GROUP = "python"
SMOKE = "--smoke" in sys.argv
LIFETIME = 1 if SMOKE else 2  # seconds of life of the short tokens (P3 expired, P4)

CC = "cctoken (Python binding)"
AUTHLIB = "authlib OAuth2Session"
HTTPX_AUTH = "httpx-auth OAuth2ClientCredentials"
ROL = "requests-oauthlib + app-held token"
MARGIN = {AUTHLIB: 60, HTTPX_AUTH: 30, ROL: 30}


def emit(scenario, case, library, ref, unit, values, note=""):
    v = sorted(values)
    at = lambda q: v[int((len(v) - 1) * q + 0.5)]  # noqa: E731
    line = {"scenario": scenario, "case": case, "group": GROUP, "library": library, "ref": ref, "unit": unit,
            "median": at(0.5), "p99": at(0.99), "max": v[-1], "n": len(v), "note": note}
    print(json.dumps(line), flush=True)


# --- the dev server's controls ---

def _call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read() or b"null")


def token_requests():
    return _call("GET", "/_dev/stats")["token_requests"]


def fault(**f):
    _call("POST", "/_dev/fault", f)


def clear_faults():
    _call("DELETE", "/_dev/fault")


# --- the clients under test: each returns (get_token_string, fetch_once) ---

def make_cctoken():
    import cctoken

    c = cctoken.Client(token_url=TOKEN_URL, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, scopes=["read"])

    def get():
        return c.token().access_token

    def fetch():
        c.invalidate(c.token())
        return c.token().access_token

    return get, fetch


def make_authlib():
    from authlib.integrations.requests_client import OAuth2Session

    s = OAuth2Session(CLIENT_ID, CLIENT_SECRET, scope="read", token_endpoint=TOKEN_URL, grant_type="client_credentials")

    def get():
        if not s.token:
            s.fetch_token()
        s.ensure_active_token(s.token)
        return s.token["access_token"]

    def fetch():
        return s.fetch_token()["access_token"]

    return get, fetch


def make_httpx_auth():
    import httpx
    from httpx_auth import OAuth2, OAuth2ClientCredentials

    OAuth2.token_cache.clear()  # process-wide: start each scenario cold
    auth = OAuth2ClientCredentials(TOKEN_URL, CLIENT_ID, CLIENT_SECRET, scope="read", client=httpx.Client())

    def get():
        return OAuth2.token_cache.get_token(auth.state, early_expiry=auth.early_expiry,
                                            on_missing_token=auth.request_new_token)

    def fetch():
        return auth.request_new_token()[1]

    return get, fetch


def make_requests_oauthlib():
    from oauthlib.oauth2 import BackendApplicationClient
    from requests_oauthlib import OAuth2Session

    # The dev server is plain http on loopback; oauthlib refuses http unless told (its documented switch).
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    s = OAuth2Session(client=BackendApplicationClient(client_id=CLIENT_ID), scope=["read"])

    def fetch():
        return s.fetch_token(token_url=TOKEN_URL, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)["access_token"]

    def get():
        tok = s.token
        if not tok or tok["expires_at"] - MARGIN[ROL] < time.time():
            fetch()
        return s.token["access_token"]

    return get, fetch


PEERS = [(AUTHLIB, make_authlib), (HTTPX_AUTH, make_httpx_auth), (ROL, make_requests_oauthlib)]
ALL = [(CC, make_cctoken)] + PEERS


# --- P1: cache hit, one thread ---

def p1():
    repeat, number = (2, 50) if SMOKE else (20, 5000)
    note = f"timeit: {repeat} repeats of {number} calls"
    for name, make in ALL:
        get, _ = make()
        get()
        runs = timeit.Timer(get).repeat(repeat=repeat, number=number)
        emit("P1", "cache hit, 1 thread", name, name == CC, "ns", [r / number * 1e9 for r in runs], note)


# --- P3: stampede ---

def stampede(n, get):
    before = token_requests()
    barrier = threading.Barrier(n)
    errors = []

    def caller():
        barrier.wait()
        try:
            get()
        except Exception as e:  # noqa: BLE001  (reported, not hidden)
            errors.append(e)

    threads = [threading.Thread(target=caller) for _ in range(n)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - t0
    note = f"all {n} served in {took * 1e3:.1f} ms"
    if errors:
        note += f"; {len(errors)} caller(s) failed: {type(errors[0]).__name__}"
    return token_requests() - before, note


def p3():
    n = 64
    for name, make in ALL:
        get, _ = make()
        requests, note = stampede(n, get)
        emit("P3", f"stampede, {n} callers, cold cache", name, name == CC, "requests", [requests], note)
    for name, make in ALL:
        life = LIFETIME + MARGIN.get(name, 0)
        fault(expires_in=life, count=0)
        get, _ = make()
        get()
        time.sleep(LIFETIME + 0.2)
        requests, note = stampede(n, get)
        clear_faults()
        emit("P3", f"stampede, {n} callers, expired token", name, name == CC, "requests", [requests], note)


# --- P4: worst caller latency across a refresh, /token answering in 50 ms ---

def through_refresh(life, callers, run, get):
    fault(latency_ms=50, expires_in=life, count=0)
    before = token_requests()
    latencies = []
    start = time.perf_counter()

    def caller():
        mine = []
        while time.perf_counter() - start < run:
            t0 = time.perf_counter_ns()
            get()
            mine.append(time.perf_counter_ns() - t0)
            time.sleep(0.0002)
        latencies.extend(mine)

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    requests = token_requests() - before
    clear_faults()
    return latencies, requests


def p4():
    case = "worst caller latency across a refresh (server +50 ms)"
    callers = 2 if SMOKE else 4
    for name, make in ALL:
        margin = MARGIN.get(name, 0)
        fault(expires_in=LIFETIME + margin)
        get, _ = make()
        get()
        if name == CC:
            run = LIFETIME - 0.2  # cctoken refreshes after half the life (+ jitter)
        else:
            time.sleep(LIFETIME - 0.5)  # the refresh is due LIFETIME s after issue
            run = 1.0
        lat, requests = through_refresh(LIFETIME + margin, callers, run, get)
        note = f"{callers} threads every 200 µs for {run:.1f} s; {requests} token request(s) during the run"
        emit("P4", case, name, name == CC, "ns", lat, note)


# --- P5: cold fetch over a kept-alive connection ---

def p5():
    import requests

    case = "cold fetch over a kept-alive connection"
    n = 5 if SMOKE else 200

    def timed(f):
        for _ in range(max(n // 10, 2)):
            f()
        out = []
        for _ in range(n):
            t0 = time.perf_counter_ns()
            f()
            out.append(time.perf_counter_ns() - t0)
        return out

    notes = {CC: "invalidate + token(): one POST each (Rust ureq inside)",
             AUTHLIB: "fetch_token()", HTTPX_AUTH: "request_new_token() with a kept-alive httpx.Client",
             ROL: "fetch_token()"}
    for name, make in ALL:
        _, fetch = make()
        emit("P5", case, name, name == CC, "ns", timed(fetch), notes[name])
    session = requests.Session()

    def raw():
        r = session.post(TOKEN_URL, data={"grant_type": "client_credentials", "scope": "read"},
                         auth=(CLIENT_ID, CLIENT_SECRET))
        return r.json()["access_token"]

    emit("P5", case, "requests raw POST", False, "ns", timed(raw), "requests.Session().post + .json()")


# --- P6: footprint of the binding ---

def proc_status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "Threads"):
                out[key] = float(value.split()[0]) * (1024 if key == "VmRSS" else 1)
    return out["VmRSS"], out["Threads"]


def p6():
    rss0, threads0 = proc_status()
    import cctoken

    c = cctoken.Client(token_url=TOKEN_URL, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, scopes=["read"])
    c.token()
    rss1, threads1 = proc_status()
    hits = 10_000 if SMOKE else 1_000_000
    for _ in range(hits):
        c.token()
    rss2, threads2 = proc_status()
    lib = "cctoken (Python binding)"
    emit("P6", "RSS added by import + client + first token", lib, True, "bytes", [rss1 - rss0],
         f"interpreter before import: {rss0 / 2**20:.1f} MiB")
    emit("P6", f"RSS added by {hits:.0e} more hits", lib, True, "bytes", [rss2 - rss1])
    emit("P6", f"threads started, after {hits:.0e} hits", lib, True, "threads", [threads2 - threads0],
         f"{threads0:.0f} before import, {threads1:.0f} after the first token")
    c.close()


def main():
    for name in ("TOKEN_URL", "CLIENT_ID", "CLIENT_SECRET"):
        if not globals()[name]:
            sys.exit(f"bench.py: CCTOKEN_BENCH_{name} is not set: run the benchmarks with `make bench`")
    wanted = [a for a in sys.argv[1:] if not a.startswith("--")]
    for name, fn in (("p1", p1), ("p3", p3), ("p4", p4), ("p5", p5), ("p6", p6)):
        if not wanted or name in wanted:
            fn()


if __name__ == "__main__":
    main()
