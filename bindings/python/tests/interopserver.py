"""oidc-provider (tests/interop/server.mjs) for the Python interop tests, run as the protocol in
tests/interop/README.md says: stdin, stdout and stderr piped, stdin held open (the server exits
when it closes, so it also dies with the test process), a bounded wait for the one JSON line,
stdout and stderr drained by threads for the whole run, terminate + wait at the end.

Also the server's introspection (as client ``introspector``) and stats endpoints. Nothing here
prints a token or a secret.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import queue
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import httpx

REPO = Path(__file__).resolve().parents[3]
INTEROP_DIR = REPO / "tests" / "interop"
# Key generation, openssl and node start take about a second, but tens of seconds on a loaded
# 2-core CI machine: the bound is generous, and a start slower than 5 s is reported.
STARTUP_TIMEOUT = 120.0
SLOW_START = 5.0
# Most of the server's log kept for failure messages.
LOG_KEEP = 64 * 1024


class InteropServerMissing(RuntimeError):
    """oidc-provider is not installed, or Node.js cannot run."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(part: str) -> dict[str, Any]:
    """One base64url part of a JWS (header or payload), decoded as JSON."""
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of a public JWK (what ``cnf.jkt`` holds, RFC 9449 §6)."""
    required = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}[jwk["kty"]]
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


class InteropServer:
    def __init__(self) -> None:
        installed = INTEROP_DIR / "node_modules" / "oidc-provider" / "package.json"
        if not installed.is_file():
            raise InteropServerMissing(
                f"oidc-provider is not installed for the interop tests ({installed} is missing): run "
                "`npm ci --prefix tests/interop` (or `make interop-deps`) from the repository root"
            )
        node = os.environ.get("NODE", "node")
        started = time.monotonic()
        try:
            self.proc = subprocess.Popen(
                [node, str(INTEROP_DIR / "server.mjs")], cwd=INTEROP_DIR,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )
        except OSError as e:
            raise InteropServerMissing(
                f"cannot run `{node}` (Node.js 20 or later is needed for the interop tests): {e}"
            ) from None
        self._log: list[bytes] = []
        self._log_size = 0
        self._log_lock = threading.Lock()
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        echo = bool(os.environ.get("CCTOKEN_INTEROP_LOG"))
        self._threads = [
            threading.Thread(target=self._drain_stdout, name="interop-stdout", daemon=True),
            threading.Thread(target=self._drain_stderr, args=(echo,), name="interop-stderr", daemon=True),
        ]
        for t in self._threads:
            t.start()
        try:
            line = self._lines.get(timeout=STARTUP_TIMEOUT)
        except queue.Empty:
            line = None
            why = f"printed nothing within {STARTUP_TIMEOUT:.0f} s"
        else:
            why = "exited without printing its JSON line"
        if line is None:
            self.stop()
            raise RuntimeError(f"interop server (node tests/interop/server.mjs) {why}; its stderr:\n{self.log()}")
        if (took := time.monotonic() - started) > SLOW_START:
            print(f"note: the interop server took {took:.1f} s to start", file=sys.stderr)
        self.info: dict[str, Any] = json.loads(line)
        self.ca_pem: str = self.info["ca_pem"]
        self.issuer: str = self.info["issuer"]
        self.token_endpoint: str = self.info["token_endpoint"]
        self._http = httpx.Client(verify=ssl.create_default_context(cadata=self.ca_pem), timeout=10,
                                  follow_redirects=False)

    # -- process ------------------------------------------------------------------------------

    def _drain_stdout(self) -> None:
        assert self.proc.stdout is not None
        sent = False
        for line in self.proc.stdout:  # keeps reading after the JSON line: nothing may block
            if not sent and line.lstrip().startswith(b"{"):
                self._lines.put(line)
                sent = True
        if not sent:
            self._lines.put(None)

    def _drain_stderr(self, echo: bool) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if echo:
                print("[interop server]", line.decode(errors="replace"), end="", flush=True)
            with self._log_lock:
                if self._log_size + len(line) <= LOG_KEEP:
                    self._log.append(line)
                    self._log_size += len(line)

    def log(self) -> str:
        """The start of what the server logged (for assertion messages; it holds no secrets)."""
        with self._log_lock:
            return b"".join(self._log).decode(errors="replace")

    def stop(self) -> None:
        http = getattr(self, "_http", None)
        if http is not None:
            http.close()
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        for t in self._threads:
            t.join(timeout=5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()

    # -- description ----------------------------------------------------------------------------

    def client(self, name: str) -> dict[str, Any]:
        """A registered client's description (client_id, credentials, ...)."""
        return self.info["clients"][name]

    def resource(self, name: str) -> tuple[str, str]:
        """A resource server's ``resource`` indicator and ``audience``."""
        r = self.info["resources"][name]
        return r["resource"], r["audience"]

    def options(self, name: str, secret: bool = False, **more: Any) -> dict[str, Any]:
        """cctoken.Client keywords aimed at the token endpoint, trusting the server's CA, with
        quick retries; ``secret=True`` adds the client's secret."""
        options: dict[str, Any] = {
            "token_url": self.token_endpoint,
            "client_id": self.client(name)["client_id"],
            "root_ca_pem": self.ca_pem,
            "call_timeout": 15,
        }
        if secret:
            options["client_secret"] = self.client(name)["client_secret"]
        return {**options, **more}

    # -- endpoints ------------------------------------------------------------------------------

    def introspect_raw(self, token: str) -> tuple[int, dict[str, Any]]:
        """RFC 7662 introspection as client ``introspector`` (Basic, RFC 6749 §2.3.1 form-encoded)."""
        me = self.client("introspector")
        basic = base64.b64encode(f"{quote_plus(me['client_id'])}:{quote_plus(me['client_secret'])}".encode())
        response = self._http.post(self.info["introspection_endpoint"], data={"token": token},
                                   headers={"Authorization": f"Basic {basic.decode()}", "Accept": "application/json"})
        return response.status_code, response.json()

    def introspect(self, token: str) -> dict[str, Any]:
        status, body = self.introspect_raw(token)
        assert status == 200, f"introspection answered {status}: {body}"
        return body

    def stats(self) -> dict[str, Any]:
        """``{"token_requests": {client_id: n}, "token_errors": {client_id: {error: n}}}``"""
        response = self._http.get(self.info["stats_endpoint"])
        assert response.status_code == 200
        return response.json()

    def token_requests(self, client_id: str) -> int:
        return self.stats()["token_requests"].get(client_id, 0)

    def token_errors(self, client_id: str, error: str) -> int:
        return self.stats()["token_errors"].get(client_id, {}).get(error, 0)
