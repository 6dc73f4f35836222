"""Events of the native library, delivered to :mod:`logging`.

Every client registers one ctypes callback (``cct_config_set_event_callback``) whose
``user_data`` is a small integer naming the client's logger in ``_loggers``. The callback turns
an event into one ``LogRecord`` on that logger (``logging.getLogger("cctoken")`` unless the
client was given ``logger=``): the level maps to ``logging`` levels, the message is the
library's one-line text, and ``extra`` holds ``event`` (the kind, e.g.
``"token_request.failed"``) and every field of the event (``client_id``, ``http_status``,
``oauth_error``, ``will_retry``, ...), also together as ``cctoken_fields``. Events never hold a
secret or a token.

Lifetimes: the one ctypes callback object lives as long as this module (a collected callback
would crash the library's next call into it). The library calls it from any thread, never
after the client's ``cct_client_free`` has returned; the entry in ``_loggers`` is dropped only
then. At interpreter exit, ``_shutdown`` stops delivery before Python is finalized and closes
the clients, so no native thread calls into a finalized interpreter.
"""

from __future__ import annotations

import atexit
import itertools
import json
import logging
import os
import threading
from typing import Any

from . import _native as n

LOGGER_NAME = "cctoken"
# A library adds no handler of its own; NullHandler keeps Python's last-resort handler from
# printing cctoken's warnings on stderr when the application configured no logging at all.
logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())

_LEVELS = {
    n.LEVEL_ERROR: logging.ERROR,
    n.LEVEL_WARN: logging.WARNING,
    n.LEVEL_INFO: logging.INFO,
    n.LEVEL_DEBUG: logging.DEBUG,
}

_lock = threading.Lock()
_loggers: dict[int, logging.Logger] = {}
_ids = itertools.count(1)
_delivering = True


def _after_fork_in_child() -> None:
    # The lock may have been copied while another thread held it.
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def register(logger: logging.Logger | None) -> int:
    """A callback id for a new native client; 0 (no callback) when ``logger`` is None."""
    if logger is None:
        return 0
    with _lock:
        sink_id = next(_ids)
        _loggers[sink_id] = logger
    return sink_id


def forget(sink_id: int) -> None:
    """Drops a client's logger; call only once its ``cct_client_free`` has returned."""
    with _lock:
        _loggers.pop(sink_id, None)


def _on_event(event: Any, user_data: int | None) -> None:
    # Runs on a native thread (with the GIL, which ctypes takes). Must never raise.
    try:
        if not _delivering:
            return
        logger = _loggers.get(user_data or 0)
        if logger is None:
            return
        level = _LEVELS.get(n.lib.cct_event_level(event), logging.INFO)
        if not logger.isEnabledFor(level):
            return
        decoded = json.loads(n.lib.cct_event_json(event))
        fields = decoded["fields"]
        extra = {**fields, "event": decoded["kind"], "cctoken_fields": fields}
        record = logger.makeRecord(logger.name, level, "(cctoken)", 0, "%s", (decoded["message"],), None, extra=extra)
        # Stamped with the event's own time: delivery may come when the token request ends.
        created = decoded["time_unix_ms"] / 1000
        record.created, record.msecs = created, (created - int(created)) * 1000
        record.relativeCreated = (created - logging._startTime) * 1000
        logger.handle(record)
    except Exception:  # noqa: BLE001 - a broken handler must not break a token request
        pass


# Kept for the life of the module: the library holds its address.
CALLBACK = n.EVENT_CALLBACK(_on_event)


def configure(lib: Any, cfg: Any, sink_id: int, call: Any) -> None:
    """Sets the callback on a ``cct_config`` for client ``sink_id`` (nothing for 0)."""
    if sink_id:
        call(lib.cct_config_set_event_callback, cfg, CALLBACK, sink_id)


def check_logger(name: str, value: Any) -> Any:
    """The ``logger=`` option: a ``logging.Logger``, a logger name, or False for no events."""
    if value is False:
        return False
    if isinstance(value, str):
        return logging.getLogger(value)
    if isinstance(value, logging.Logger):
        return value
    raise TypeError(f"{name} must be a logging.Logger, a logger name or False, not {type(value).__name__}")


def logger_of(options: dict[str, Any]) -> logging.Logger | None:
    value = options.get("logger", None)
    if value is False:
        return None
    return value if value is not None else logging.getLogger(LOGGER_NAME)


def _shutdown() -> None:
    # atexit runs before the interpreter is finalized, after non-daemon threads ended. Stop
    # delivering, then close every client so the library ends its callbacks (cct_client_free
    # waits for those in progress and lets none start).
    global _delivering
    _delivering = False
    from .client import _live_clients

    for client in list(_live_clients):
        try:
            client.close()
        except Exception:  # noqa: BLE001
            pass


atexit.register(_shutdown)
