"""One Python process of the multi-language store test (tests/store/run.py).

Builds a client on the shared cache directory (or on CCTOKEN_REDIS_URL when set: the fleet
test, tests/store/fleet.py, which also sets CCTOKEN_ALLOW_INSECURE_HTTP), says "ready", waits for the go file, then asks
for a token every 50 ms for CCTOKEN_DURATION_S seconds (once if 0), checking that none is
expired. Prints "ok first=<fingerprint> distinct=<tokens seen> calls=<n> store_errors=<n>".
Fingerprints are FNV-1a 64 of the token, never the token.
"""

import os
import sys
import time

import cctoken


def fnv1a(s: str) -> int:
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def main() -> int:
    env = os.environ
    store = {"redis_url": env["CCTOKEN_REDIS_URL"]} if "CCTOKEN_REDIS_URL" in env else {"cache_dir": env["CCTOKEN_CACHE_DIR"]}
    client = cctoken.Client(
        token_url=env["CCTOKEN_TOKEN_URL"],
        client_id=env["CCTOKEN_CLIENT_ID"],
        client_secret=env["CCTOKEN_CLIENT_SECRET"],
        refresh_policy=cctoken.RefreshPolicy(ratio=0.1, min_window=0.3, jitter=0.25),
        allow_insecure_http="CCTOKEN_ALLOW_INSECURE_HTTP" in env,
        **store,
    )
    duration = float(env["CCTOKEN_DURATION_S"])
    print("ready", flush=True)
    while not os.path.exists(env["CCTOKEN_GO_FILE"]):
        time.sleep(0.005)
    end = time.monotonic() + duration
    first = last = None
    distinct = calls = 0
    while True:
        tok = client.token()
        if tok.expires_in <= 0:
            print("error: an expired token was served", flush=True)
            return 1
        fp = fnv1a(tok.access_token)
        if first is None:
            first = fp
        if fp != last:
            distinct, last = distinct + 1, fp
        calls += 1
        time.sleep(0.05)
        if time.monotonic() >= end:
            break
    m = client.metrics()
    print(f"ok first={first:016x} distinct={distinct} calls={calls} store_errors={m.store_errors}", flush=True)
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
