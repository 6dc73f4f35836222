#!/usr/bin/env python3
"""A fleet in miniature (`make test-store`, as root): four "hosts" as network namespaces, each
running 8 Python processes, share one Redis that runs in a fifth namespace; the dev server (the
authorization server) runs in a sixth. Every address is assigned by this test:

    host i (cctNNNN-hI):  veth to the AS side     10.77.i.2/24  ->  AS    10.99.0.1 (lo of cctNNNN-a)
                          veth to the Redis side  10.78.i.2/24  ->  Redis 10.98.0.1 (lo of cctNNNN-r)

1. all links up, three lifetimes of a 3 s token: 32 processes on 4 hosts make no more token
   requests than one process alone would;
2. host 1's Redis link down: its processes keep getting valid tokens (direct fetches, counted
   as store errors); the other hosts keep sharing without a store error;
3. the link back up: host 1 shares again (no store error), and the fleet is back to one request
   per refresh cycle.

Without root (or without `ip netns`), prints why and exits 0: CI runs as root, so it runs there.
Prints counts and fingerprints, never a token.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import LIFETIME, ROOT, SECRET, STAGE, WINDOW, field

HOSTS, PER_HOST = 4, 8
TAG = f"cct{os.getpid() % 10000:04d}"
REDIS_PASSWORD = "fleet-redis-Pa55"


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=check, capture_output=True, text=True)


def in_ns(ns: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return sh("ip", "netns", "exec", ns, *args, check=check)


class Fleet:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.namespaces: list[str] = []
        self.procs: list[subprocess.Popen] = []

    def setup(self) -> None:
        redis_ns, as_ns = f"{TAG}-r", f"{TAG}-a"
        self._netns(redis_ns)
        self._netns(as_ns)
        in_ns(redis_ns, "ip", "addr", "add", "10.98.0.1/32", "dev", "lo")
        in_ns(as_ns, "ip", "addr", "add", "10.99.0.1/32", "dev", "lo")
        for i in range(1, HOSTS + 1):
            host = f"{TAG}-h{i}"
            self._netns(host)
            # To the authorization server.
            outer, inner = f"{TAG}a{i}", f"{TAG}A{i}"
            sh("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
            sh("ip", "link", "set", outer, "netns", as_ns)
            sh("ip", "link", "set", inner, "netns", host)
            in_ns(as_ns, "ip", "addr", "add", f"10.77.{i}.1/24", "dev", outer)
            in_ns(as_ns, "ip", "link", "set", outer, "up")
            in_ns(host, "ip", "addr", "add", f"10.77.{i}.2/24", "dev", inner)
            in_ns(host, "ip", "link", "set", inner, "up")
            in_ns(host, "ip", "route", "add", "10.99.0.1/32", "via", f"10.77.{i}.1")
            # To Redis (its own namespace); this is the link the test takes down.
            r_outer, r_inner = f"{TAG}r{i}", f"{TAG}R{i}"
            sh("ip", "link", "add", r_outer, "type", "veth", "peer", "name", r_inner)
            sh("ip", "link", "set", r_outer, "netns", redis_ns)
            sh("ip", "link", "set", r_inner, "netns", host)
            in_ns(redis_ns, "ip", "addr", "add", f"10.78.{i}.1/24", "dev", r_outer)
            in_ns(redis_ns, "ip", "link", "set", r_outer, "up")
            in_ns(host, "ip", "addr", "add", f"10.78.{i}.2/24", "dev", r_inner)
            in_ns(host, "ip", "link", "set", r_inner, "up")
            in_ns(host, "ip", "route", "add", "10.98.0.1/32", "via", f"10.78.{i}.1")
        self.redis_ns, self.as_ns = redis_ns, as_ns

    def _netns(self, name: str) -> None:
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        in_ns(name, "ip", "link", "set", "lo", "up")

    def redis_link(self, host: int, up: bool) -> None:
        ns = f"{TAG}-h{host}"
        in_ns(ns, "ip", "link", "set", f"{TAG}R{host}", "up" if up else "down")
        if up:  # the route through the link went with it
            in_ns(ns, "ip", "route", "replace", "10.98.0.1/32", "via", f"10.78.{host}.1")

    def spawn(self, ns: str, args: list[str], **kw) -> subprocess.Popen:
        p = subprocess.Popen(["ip", "netns", "exec", ns] + args, **kw)
        self.procs.append(p)
        return p

    def teardown(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for ns in self.namespaces:  # deleting a namespace deletes its veth ends, and so their peers
            sh("ip", "netns", "del", ns, check=False)


def main() -> int:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        print("fleet test: not run (needs root and iproute2 for network namespaces; CI runs it as root)")
        return 0
    work = Path(tempfile.mkdtemp(prefix="cctoken-fleet-"))
    fleet = Fleet(work)
    try:
        fleet.setup()
        # Redis in its namespace, the dev server on the AS address.
        redis = fleet.spawn(fleet.redis_ns, ["redis-server", "--bind", "10.98.0.1", "--port", "6379", "--dir",
                                             str(work), "--save", "", "--appendonly", "no", "--requirepass",
                                             REDIS_PASSWORD], stdout=subprocess.DEVNULL)
        dev_bin = os.environ.get("CCTOKEN_DEV_SERVER") or str(ROOT / "target" / "debug" / "cctoken-dev-server")
        dev = fleet.spawn(fleet.as_ns, [dev_bin, "--addr", "10.99.0.1:0", "--allow-non-loopback", "--exit-on-stdin-eof",
                                 "--quiet", "--client", "fleet", "--secret", SECRET, "--lifetime",
                                 str(int(LIFETIME))], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert dev.stdout is not None
        base = dev.stdout.readline().decode().rsplit(" ", 1)[-1].strip()
        assert base.startswith("http://10.99.0.1:"), base
        deadline = time.monotonic() + 20
        while in_ns(f"{TAG}-h1", "redis-cli", "-h", "10.98.0.1", "-a", REDIS_PASSWORD, "--no-auth-warning",
                    "PING", check=False).stdout.strip() != "PONG":
            assert redis.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)

        def token_requests() -> int:
            stats = in_ns(fleet.as_ns, "curl", "-sSf", "--max-time", "10", base + "/_dev/stats").stdout
            return json.loads(stats)["token_requests"]

        venv = ROOT / "bindings" / "python" / ".venv" / "bin" / "python"
        python = str(venv) if venv.exists() else sys.executable
        env = {
            **os.environ,
            "CCTOKEN_TOKEN_URL": base + "/token",
            "CCTOKEN_CLIENT_ID": "fleet",
            "CCTOKEN_CLIENT_SECRET": SECRET,
            "CCTOKEN_REDIS_URL": f"redis://:{REDIS_PASSWORD}@10.98.0.1:6379/0",
            "CCTOKEN_ALLOW_INSECURE_HTTP": "1",
            "CCTOKEN_LIBRARY": str(STAGE / "lib" / "libcctoken.so"),
            "PYTHONPATH": str(ROOT / "bindings" / "python"),
        }

        def phase(name: str, duration: float) -> tuple[dict[int, list[str]], int, float]:
            go_file = work / f"go-{name}"
            run_env = {**env, "CCTOKEN_GO_FILE": str(go_file), "CCTOKEN_DURATION_S": str(duration)}
            procs = [(h, fleet.spawn(f"{TAG}-h{h}", [python, str(Path(__file__).with_name("worker.py"))],
                                     env=run_env, stdout=subprocess.PIPE, text=True))
                     for h in range(1, HOSTS + 1) for _ in range(PER_HOST)]
            for h, p in procs:
                assert p.stdout is not None
                line = p.stdout.readline().strip()
                assert line == "ready", f"worker on host {h} did not start: {line!r}"
            before = token_requests()
            started = time.monotonic()
            go_file.touch()
            results: dict[int, list[str]] = {h: [] for h in range(1, HOSTS + 1)}
            for h, p in procs:
                out, _ = p.communicate(timeout=duration + 60)
                line = out.strip().splitlines()[-1] if out.strip() else ""
                assert p.returncode == 0 and line.startswith("ok "), f"worker on host {h} failed: {line!r}"
                results[h].append(line)
            elapsed = time.monotonic() - started
            return results, token_requests() - before, elapsed

        def errors(lines: list[str]) -> int:
            return sum(int(field(line, "store_errors")) for line in lines)

        print(f"fleet test: {HOSTS} hosts x {PER_HOST} processes (network namespaces), Redis in a fifth")
        results, requests, elapsed = phase("up", 3 * LIFETIME)
        alone = 1 + math.floor(elapsed / (LIFETIME - WINDOW))
        print(f"  links up: {requests} token requests in {elapsed:.1f} s, at most {alone} for one process alone")
        assert requests <= alone, f"{requests} token requests, more than one process alone ({alone})"
        assert all(errors(lines) == 0 for lines in results.values()), "store errors with every link up"

        fleet.redis_link(1, up=False)
        results, requests, elapsed = phase("down", 2 * LIFETIME)
        print(f"  host 1 cut off from Redis: {requests} token requests in {elapsed:.1f} s; store errors per host "
              f"{[errors(results[h]) for h in sorted(results)]}")
        assert all(errors([line]) > 0 for line in results[1]), "host 1's processes did not notice the cut"
        assert all(errors(results[h]) == 0 for h in range(2, HOSTS + 1)), "the other hosts saw store errors"

        fleet.redis_link(1, up=True)
        results, requests, elapsed = phase("back", 2 * LIFETIME)
        alone = 1 + math.floor(elapsed / (LIFETIME - WINDOW))
        print(f"  link back: {requests} token requests in {elapsed:.1f} s, at most {alone} for one process alone")
        assert all(errors(lines) == 0 for lines in results.values()), "store errors after the link came back"
        assert requests <= alone, f"{requests} token requests after the link came back (one process: {alone})"
        print("fleet test: passed")
        assert dev.stdin is not None
        dev.stdin.close()
        return 0
    finally:
        fleet.teardown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
