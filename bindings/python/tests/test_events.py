"""Events reach logging (default logger "cctoken", or logger=), with their fields in `extra`;
no event holds the secret or a token; metrics text and the prometheus_client collector."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest
from devserver import SECRET, fp, wait_for
from test_fork import run_in_child

import cctoken
from cctoken import RefreshPolicy, RetryPolicy


class Records(logging.Handler):
    """Keeps every record; the logger is set to DEBUG for the test."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def kinds(self) -> list[str]:
        return [r.event for r in self.records]

    def of(self, kind: str) -> list[logging.LogRecord]:
        return [r for r in self.records if r.event == kind]


@pytest.fixture
def records():
    handler = Records()
    logger = logging.getLogger("cctoken")
    old = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


def test_scenario_to_the_cctoken_logger_without_secrets(server, make_client, records):
    c = make_client(
        refresh_policy=RefreshPolicy(ratio=0.5, min_window=0, jitter=0),
        retry_policy=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05),
    )
    tokens = []
    # 1. Success: a 3 s token, refreshed from 1.5 s on.
    server.fault(expires_in=3)
    first = c.token()
    tokens.append(first.access_token)
    # 2. The refresh fails three times (503); the cached token is served meanwhile.
    server.fault(status=503, error="temporarily_unavailable", retry_after="0", count=3)
    assert wait_for(lambda: first.expires_in < 1.4, timeout=5)
    assert c.token(timeout=5).access_token == first.access_token
    assert wait_for(lambda: records.of("refresh.failed_stale_served"), timeout=10)
    # 3. Recovery.
    def recovered() -> bool:
        tokens.append(c.token(timeout=5).access_token)
        return len(records.of("token_request.succeeded")) >= 2

    assert wait_for(recovered, timeout=10)
    # 4. invalid_client: a cool-down.
    current = c.token()
    server.fault(status=401, error="invalid_client")
    c.invalidate(current)
    with pytest.raises(cctoken.OAuthError):
        c.token()
    with pytest.raises(cctoken.OAuthError):
        c.token()
    # 5. Rotation ends it.
    c.set_client_secret(SECRET)
    tokens.append(c.token().access_token)
    text = c.metrics_text()
    m = c.metrics()
    c.close()

    kinds = records.kinds()
    for kind in ("token_request.succeeded", "token_request.failed", "refresh.started",
                 "refresh.failed_stale_served", "cooldown.entered", "cooldown.ended", "secret.rotated"):
        assert kind in kinds, kind
    retried = [r for r in records.of("token_request.failed") if r.attempt == 1 and r.http_status == 503]
    assert retried and retried[0].levelno == logging.WARNING and retried[0].will_retry is True
    assert retried[0].oauth_error == "temporarily_unavailable" and retried[0].error_class == "oauth"
    assert retried[0].client_id == "svc" and retried[0].token_endpoint == server.token_url
    gave_up = [r for r in records.of("token_request.failed") if r.attempt == 3]
    assert gave_up and gave_up[0].levelno == logging.ERROR and gave_up[0].will_retry is False
    # Records carry the event's own time (delivery comes when the request ends).
    assert time.time() - 60 < retried[0].created <= gave_up[0].created <= time.time()
    stale = records.of("refresh.failed_stale_served")[0]
    assert stale.levelno == logging.WARNING and 0 < stale.time_left_ms < 3000
    assert records.of("cooldown.entered")[0].oauth_error == "invalid_client"
    assert records.of("cooldown.ended")[0].reason == "secret_rotated"
    assert records.of("refresh.started")[0].levelno == logging.DEBUG
    assert isinstance(records.of("token_request.succeeded")[0].cctoken_fields, dict)

    # Nothing anywhere holds the secret or a token: messages, extras, formatted lines, metrics.
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s %(event)s")
    dumped = "\n".join(f"{formatter.format(r)} {r.__dict__!r}" for r in records.records) + text
    for value in [SECRET, *tokens]:
        assert value not in dumped, f"leaked value (fingerprint {fp(value)})"

    assert m.requests["oauth"] == 4 and m.requests["success"] >= 3
    assert (m.cooldowns, m.cooldown_rejections) == (1, 1)
    assert m.fetch_latency_count == m.fetches == sum(n for _, n in m.fetch_latency_buckets)
    assert 'cctoken_token_requests_total{client_id="svc",outcome="oauth"} 4' in text


def test_logger_option_and_false(server, make_client, records):
    mine = logging.getLogger("my.app.tokens")
    handler = Records()
    mine.addHandler(handler)
    mine.setLevel(logging.INFO)
    try:
        make_client(logger=mine).token()
        make_client(logger=False).token()
        assert handler.kinds() == ["token_request.succeeded"]
        assert records.records == [], "the default logger got nothing"
        make_client(logger="my.app.tokens").token()
        assert handler.kinds() == ["token_request.succeeded"] * 2
    finally:
        mine.removeHandler(handler)
    with pytest.raises(TypeError):
        make_client(logger=42)


def test_no_warning_on_stderr_without_logging_configured(server, tmp_path):
    # An application that configured nothing does not get cctoken lines on stderr.
    code = f"""
import cctoken
c = cctoken.Client(token_url={server.token_url!r}, client_id="svc", client_secret="wrong",
                   failure_cooldown=0)
try:
    c.token()
except cctoken.OAuthError:
    pass
c.close()
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stderr == ""


def test_events_in_a_forked_child(server, make_client, records):
    c = make_client()
    c.token()

    def child() -> dict:
        handler = Records()
        logging.getLogger("cctoken").addHandler(handler)
        c.invalidate(c.token())  # the child's own native client fetches
        c.token(timeout=5)
        return {"kinds": handler.kinds()}

    assert "token_request.succeeded" in run_in_child(child)["kinds"]


def test_interpreter_exit_with_a_fetch_in_flight(server):
    # A background refresh is still running (slow server) when the interpreter exits: no crash,
    # no hang, and no call into the finalized interpreter.
    server.fault(expires_in=2)
    server.fault(latency_ms=1500)
    code = f"""
import logging, time, cctoken
logging.basicConfig(level=logging.DEBUG)
c = cctoken.Client(token_url={server.token_url!r}, client_id="svc", client_secret={SECRET!r},
                   background_refresh=True,
                   refresh_policy=cctoken.RefreshPolicy(ratio=0.9, min_window=0, jitter=0))
c.token()
time.sleep(1.3)   # the refresher is now waiting for the slow server
print("exiting", flush=True)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "exiting" in out.stdout
    assert SECRET not in out.stderr


def test_prometheus_collector(server, make_client):
    from prometheus_client import CollectorRegistry, generate_latest

    from cctoken.prometheus import CctokenCollector

    a = make_client()
    b = make_client(client_id="post-svc", auth_method="client_secret_post")
    for _ in range(3):
        a.token()
    b.token()
    registry = CollectorRegistry()
    registry.register(CctokenCollector(a, b))
    text = generate_latest(registry).decode()
    assert 'cctoken_cache_hits_total{client_id="svc"} 2.0' in text
    assert 'cctoken_token_requests_total{client_id="post-svc",outcome="success"} 1.0' in text
    assert text.count("# TYPE cctoken_fetch_duration_seconds histogram") == 1
    assert 'cctoken_fetch_duration_seconds_count{client_id="svc"} 1.0' in text
    assert 'cctoken_token_cached{client_id="svc"} 1.0' in text
    b.close()
    assert "post-svc" not in generate_latest(registry).decode()
