"""A cctoken-dev-server process for one test: started on 127.0.0.1 port 0, stopped by closing
its stdin (--exit-on-stdin-eof), so it also dies with the test process if that is killed."""

from __future__ import annotations

import hashlib
import json
import os
import select
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
# A test secret; tests never print it (or any token), see fp().
SECRET = "py-test-secret-9f3c"

# The clients every test server knows.
CLIENTS = [
    ["--client", "svc", "--secret", SECRET, "--scopes", "read,write", "--lifetime", "3600"],
    ["--client", "basic-svc", "--secret", SECRET, "--auth", "basic"],
    ["--client", "post-svc", "--secret", SECRET, "--auth", "post"],
    ["--client", "short-svc", "--secret", SECRET, "--lifetime", "2"],
]


def fp(text: str) -> str:
    """A short fingerprint of a secret value, safe to show in an assertion message."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def server_binary() -> str:
    path = os.environ.get("CCTOKEN_DEV_SERVER") or str(REPO / "target" / "debug" / "cctoken-dev-server")
    if not os.access(path, os.X_OK):
        subprocess.run(["cargo", "build", "--quiet", "-p", "cctoken-dev-server"], cwd=REPO, check=True)
    return path


# With tls_dir: certificate-authenticated clients (tls_client_auth, self_signed_tls_client_auth).
TLS_CLIENTS = [["--client", "mtls", "--auth", "tls"], ["--client", "self-signed", "--auth", "self_signed"]]


# How long a test server may take to print its first line, and from when a start is slow.
STARTUP_TIMEOUT = 120.0
SLOW_START = 5.0


def report_slow_start(what: str, started: float) -> None:
    took = time.monotonic() - started
    if took > SLOW_START:
        print(f"note: {what} took {took:.1f} s to start", file=sys.stderr)


class DevServer:
    def __init__(self, log_path: Path, tls_dir: Path | None = None, providers_dir: Path | None = None) -> None:
        args = [server_binary(), "--addr", "127.0.0.1:0", "--exit-on-stdin-eof", "--quiet"]
        for client in CLIENTS + (TLS_CLIENTS if tls_dir else []):
            args += client
        self.tls_dir = tls_dir
        self._ssl = None
        if tls_dir:
            args += ["--tls-dir", str(tls_dir)]
        if providers_dir:
            # The provider stand-ins (Entra ID, federation, Google): the server writes their
            # fixtures and providers.json into the directory before it prints its address.
            args += ["--providers-dir", str(providers_dir)]
        self._log = open(log_path, "wb")
        started = time.monotonic()
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log)
        # Generous: a loaded 2-core CI machine can be slow to start anything.
        self.base_url = self._read_address(timeout=STARTUP_TIMEOUT)
        report_slow_start("cctoken-dev-server", started)
        if tls_dir:
            self._ssl = ssl.create_default_context(cafile=str(tls_dir / "ca.pem"))
        self.token_url = self.base_url + "/token"
        self.resource_url = self.base_url + "/resource"
        # The manifest of the provider stand-ins (see tests/test_providers.py), or None.
        self.providers: dict[str, Any] | None = None
        if providers_dir:
            self.providers = json.loads((providers_dir / "providers.json").read_text())

    def _read_address(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().decode() if ready else ""
        prefix = "cctoken-dev-server listening on "  # then http:// or https://
        if not line.startswith(prefix):
            self.stop()
            raise RuntimeError(f"dev server did not start (first line: {line!r})")
        return line[len(prefix):].strip()

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()

    # -- the /_dev control endpoints ----------------------------------------------------------

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        return json.loads(self.get_text(path, method, body) or "null")

    def get_text(self, path: str, method: str = "GET", body: Any = None) -> str:
        """The body of a request to the server (a path, or a full URL it gave out)."""
        data = None if body is None else json.dumps(body).encode()
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        request = urllib.request.Request(url, data=data, method=method)
        with urllib.request.urlopen(request, timeout=10, context=self._ssl) as response:
            return response.read().decode()

    def stats(self) -> dict[str, Any]:
        return self._request("GET", "/_dev/stats")

    def token_requests(self) -> int:
        return self.stats()["token_requests"]

    def last_token_request(self) -> dict[str, Any]:
        return self._request("GET", "/_dev/last-token-request")

    def fault(self, **fault: Any) -> None:
        self._request("POST", "/_dev/fault", fault)

    def clear_faults(self) -> None:
        self._request("DELETE", "/_dev/fault")

    def revoke(self) -> int:
        return self._request("POST", "/_dev/revoke", {})["revoked"]

    def resource_status(self, authorization: str) -> int:
        """GET /resource with this Authorization header; the HTTP status."""
        request = urllib.request.Request(self.resource_url, headers={"Authorization": authorization})
        try:
            with urllib.request.urlopen(request, timeout=10, context=self._ssl) as response:
                return response.status
        except urllib.error.HTTPError as e:
            return e.code


def wait_for(predicate: Any, timeout: float = 10, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
