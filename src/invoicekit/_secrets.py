"""Secrets that never show: `Secret` hides its value from `repr()`/`str()`, and a logging
filter scrubs every live secret from records of invoicekit's and httpx's loggers."""

from __future__ import annotations

import logging
import threading
from typing import Any, Final

__all__ = ["REDACTED", "Secret", "install_log_redaction", "redact", "register_secret"]

REDACTED: Final = "***"

_lock = threading.Lock()
_live: dict[str, int] = {}  # secret value -> how many holders registered it


class Secret:
    """A string that keeps its value out of `repr()`, `str()`, f-strings and pickles.

    `Secret("dz_live_...").get()` returns the value for the one place that needs it
    (an `Authorization` header).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.get()
        if not isinstance(value, str):
            raise TypeError("a secret must be a string")
        self._value = value

    def get(self) -> str:
        """The secret value itself."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{REDACTED}')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("secrets are not picklable")


def register_secret(value: str | Secret | None) -> None:
    """Have the log filter scrub *value* from now on (short values are not tracked)."""
    if value is None:
        return
    text = value.get() if isinstance(value, Secret) else value
    if len(text) < 6:
        return
    with _lock:
        _live[text] = _live.get(text, 0) + 1


def redact(text: str) -> str:
    """*text* with every live secret replaced by `***`."""
    if not _live:
        return text
    with _lock:
        secrets = sorted(_live, key=len, reverse=True)
    for s in secrets:
        if s in text:
            text = text.replace(s, REDACTED)
    return text


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _live:
            try:
                message = record.getMessage()
            except Exception:  # a malformed record is logging's problem, not ours
                return True
            cleaned = redact(message)
            if cleaned != message:
                record.msg = cleaned
                record.args = None
        return True


_FILTER = _RedactingFilter()
_LOGGERS = (
    "invoicekit",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
_installed = False


def install_log_redaction() -> None:
    """Attach the redacting filter to invoicekit's, httpx's and httpcore's loggers (idempotent)."""
    global _installed
    if _installed:
        return
    for name in _LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)
    _installed = True
