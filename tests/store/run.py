#!/usr/bin/env python3
"""Multi-language, multi-process test of the shared file store (`make test-store`).

16 Python, 8 Go and 8 C processes (fewer with CCTOKEN_STORE_SCALE=0.25) share one cache
directory against one dev server:

1. cold: every process asks for its first token at the same moment (a slow token response
   makes them overlap) -> exactly one token request, one token for all;
2. lifetimes: every process asks every 50 ms for three lifetimes of a 3 s token -> the whole
   fleet makes no more requests than one process alone would (one per refresh cycle of about
   2.7 s), and no process is ever handed an expired token.

Needs `make stage` (library, header) and the dev server; builds the C and Go workers itself.
Prints fingerprints and counts, never a token.
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
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STAGE = ROOT / "target" / "stage"
SECRET = "store-multilang-secret-7c1e"
LIFETIME = 3.0
WINDOW = 0.3  # the workers' refresh policy: max(10% of 3 s, 0.3 s)


def build(work: Path) -> dict[str, list[str]]:
    c_bin, go_bin = work / "worker_c", work / "worker_go"
    subprocess.run(
        ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", f"-I{STAGE / 'include'}", str(HERE / "worker.c"),
         f"-L{STAGE / 'lib'}", "-lcctoken", f"-Wl,-rpath,{STAGE / 'lib'}", "-o", str(c_bin)],
        check=True,
    )
    subprocess.run(["go", "build", "-o", str(go_bin), "."], cwd=HERE / "go", check=True)
    venv = ROOT / "bindings" / "python" / ".venv" / "bin" / "python"
    python = str(venv) if venv.exists() else sys.executable
    return {"python": [python, str(HERE / "worker.py")], "go": [str(go_bin)], "c": [str(c_bin)]}


class DevServer:
    def __init__(self, work: Path) -> None:
        binary = os.environ.get("CCTOKEN_DEV_SERVER") or str(ROOT / "target" / "debug" / "cctoken-dev-server")
        args = [binary, "--addr", "127.0.0.1:0", "--exit-on-stdin-eof", "--quiet"]
        args += ["--client", "long", "--secret", SECRET, "--lifetime", "3600"]
        args += ["--client", "short", "--secret", SECRET, "--lifetime", str(int(LIFETIME))]
        self.log = open(work / "dev-server.log", "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        self.base = line.rsplit(" ", 1)[-1].strip()
        assert self.base.startswith("http://127.0.0.1:"), line

    def post(self, path: str, body: object) -> None:
        req = urllib.request.Request(self.base + path, data=json.dumps(body).encode(), method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def token_requests(self) -> int:
        with urllib.request.urlopen(self.base + "/_dev/stats", timeout=10) as r:
            return json.load(r)["token_requests"]

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def run_fleet(server: DevServer, workers: dict[str, list[str]], counts: dict[str, int], client_id: str,
              duration: float, work: Path, tag: str) -> tuple[list[str], float]:
    """Starts the processes, releases them together, returns their result lines and the run time."""
    cache, go_file = work / f"cache-{tag}", work / f"go-{tag}"
    env = {
        **os.environ,
        "CCTOKEN_TOKEN_URL": server.base + "/token",
        "CCTOKEN_CLIENT_ID": client_id,
        "CCTOKEN_CLIENT_SECRET": SECRET,
        "CCTOKEN_CACHE_DIR": str(cache),
        "CCTOKEN_GO_FILE": str(go_file),
        "CCTOKEN_DURATION_S": str(duration),
        "CCTOKEN_LIBRARY": str(STAGE / "lib" / "libcctoken.so"),
        "PYTHONPATH": str(ROOT / "bindings" / "python"),
    }
    procs = []
    for lang, n in counts.items():
        for _ in range(n):
            procs.append((lang, subprocess.Popen(workers[lang], env=env, stdout=subprocess.PIPE, text=True)))
    for lang, p in procs:  # every process built its client and waits for the go file
        assert p.stdout is not None
        line = p.stdout.readline().strip()
        assert line == "ready", f"{lang} worker did not start: {line!r}"
    started = time.monotonic()
    go_file.touch()
    results = []
    for lang, p in procs:
        out, _ = p.communicate(timeout=duration + 60)
        line = out.strip().splitlines()[-1] if out.strip() else ""
        assert p.returncode == 0 and line.startswith("ok "), f"{lang} worker failed: {line!r}"
        results.append(f"{lang} {line}")
    return results, time.monotonic() - started


def field(line: str, name: str) -> str:
    return next(part.split("=", 1)[1] for part in line.split() if part.startswith(name + "="))


def main() -> int:
    scale = float(os.environ.get("CCTOKEN_STORE_SCALE", "1"))
    counts = {"python": max(1, round(16 * scale)), "go": max(1, round(8 * scale)), "c": max(1, round(8 * scale))}
    work = Path(tempfile.mkdtemp(prefix="cctoken-store-multilang-"))
    server = None
    try:
        workers = build(work)
        server = DevServer(work)
        total = sum(counts.values())
        print(f"store multi-language test: {counts} = {total} processes, one cache directory")

        server.post("/_dev/fault", {"latency_ms": 500})
        results, _ = run_fleet(server, workers, counts, "long", 0, work, "cold")
        firsts = {field(r, "first") for r in results}
        requests = server.token_requests()
        print(f"  cold: {requests} token request(s), {len(firsts)} distinct token(s) among {total} processes")
        assert requests == 1, f"cold store: {requests} token requests, want 1"
        assert len(firsts) == 1, "the processes got different tokens"

        before = server.token_requests()
        results, elapsed = run_fleet(server, workers, counts, "short", 3 * LIFETIME, work, "lifetimes")
        requests = server.token_requests() - before
        # One process alone: a request at the start, then one per refresh cycle (lifetime - window).
        alone = 1 + math.floor(elapsed / (LIFETIME - WINDOW))
        errors = sum(int(field(r, "store_errors")) for r in results)
        calls = sum(int(field(r, "calls")) for r in results)
        print(f"  lifetimes: {requests} token requests in {elapsed:.1f} s ({elapsed / LIFETIME:.1f} lifetimes), "
              f"{calls} calls, at most {alone} for one process alone; store errors {errors}")
        assert requests <= alone, f"{requests} token requests, more than one process alone ({alone})"
        assert errors == 0, f"{errors} store errors"
        print("store multi-language test: passed")
        return 0
    finally:
        if server:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
