"""P7, shared cache stores: token requests per token lifetime for N processes (1, 4, 16, 64)
with and without a shared file store, and the cost of a store hit (a local miss answered by the
store) next to a fetch. A runner of benches/run.py: prints one JSON result per line.

    python p7.py [--smoke] --dev-server PATH --work DIR

Uses the C worker of the store tests (tests/store/worker.c), built here against the staged
library, and a dev server of its own with 2 s tokens (the shared one issues 1 h tokens).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
STAGE = REPO / "target" / "stage"
LIFETIME = 2
SECRET = "p7-secret"


def result(case: str, library: str, ref: bool, unit: str, value: float, n: int, note: str) -> None:
    print(json.dumps({"scenario": "P7", "case": case, "group": "c", "library": library, "ref": ref, "unit": unit,
                      "median": value, "p99": None, "max": None, "n": n, "note": note}), flush=True)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--dev-server", required=True)
    p.add_argument("--work", required=True)
    args = p.parse_args()
    work = Path(args.work) / "p7"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    worker = work / "worker"
    subprocess.run(["cc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{STAGE / 'include'}",
                    str(REPO / "tests" / "store" / "worker.c"), f"-L{STAGE / 'lib'}", "-lcctoken",
                    f"-Wl,-rpath,{STAGE / 'lib'}", "-o", str(worker)], check=True)
    server = subprocess.Popen([args.dev_server, "--addr", "127.0.0.1:0", "--exit-on-stdin-eof", "--quiet",
                               "--client", "p7", "--secret", SECRET, "--lifetime", str(LIFETIME)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        base = re.search(r"listening on (http://\S+)", server.stdout.readline()).group(1)

        def token_requests() -> int:
            with urllib.request.urlopen(base + "/_dev/stats", timeout=10) as r:
                return json.load(r)["token_requests"]

        env = {"CCTOKEN_TOKEN_URL": base + "/token", "CCTOKEN_CLIENT_ID": "p7", "CCTOKEN_CLIENT_SECRET": SECRET,
               "PATH": "/usr/bin:/bin"}
        lifetimes = 1 if args.smoke else 4
        for n in (1, 4) if args.smoke else (1, 4, 16, 64):
            for store in (False, True):
                tag = f"{n}-{'store' if store else 'none'}"
                go = work / f"go-{tag}"
                run_env = {**env, "CCTOKEN_CACHE_DIR": str(work / f"cache-{tag}") if store else "",
                           "CCTOKEN_GO_FILE": str(go), "CCTOKEN_DURATION_S": str(lifetimes * LIFETIME)}
                procs = [subprocess.Popen([str(worker)], env=run_env, stdout=subprocess.PIPE, text=True)
                         for _ in range(n)]
                for proc in procs:
                    assert proc.stdout.readline().strip() == "ready"
                before = token_requests()
                started = time.monotonic()
                go.touch()
                for proc in procs:
                    out, _ = proc.communicate(timeout=lifetimes * LIFETIME + 120)
                    assert proc.returncode == 0 and "ok " in out, out
                elapsed = time.monotonic() - started
                per_lifetime = (token_requests() - before) / (elapsed / LIFETIME)
                result(f"{n} process{'es' if n > 1 else ''}, {LIFETIME} s tokens: token requests per lifetime",
                       "cctoken + file store" if store else "cctoken, memory only", store, "requests/lifetime",
                       per_lifetime, n, f"{elapsed:.1f} s, a call every 50 ms per process; refresh window 0.3 s")
        out = subprocess.run([str(worker), "cost", "5" if args.smoke else "200"],
                             env={**env, "CCTOKEN_CACHE_DIR": str(work / "cache-cost")}, check=True,
                             capture_output=True, text=True).stdout
        fields = dict(kv.split("=") for kv in out.split())
        count = int(fields["n"])
        result("first call of a new client (local miss)", "cctoken + file store: store hit", True, "ns",
               float(fields["store_hit_ns"]), count, "reads, opens and checks the sealed entry; no request")
        result("first call of a new client (local miss)", "cctoken, memory only: token request", False, "ns",
               float(fields["fetch_ns"]), count, "a new connection and a token request to the dev server")
        return 0
    finally:
        server.stdin.close()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
