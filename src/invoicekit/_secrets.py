"""Secrets that never show.

`Secret` hides its value from `repr()`/`str()`/f-strings and pickles. Every live secret
value is also registered here, so that:

* a logging filter scrubs it from the records of invoicekit's, httpx's and httpcore's
  loggers (message *and* formatted traceback), even with DEBUG on;
* `scrub_exception()` removes it from an exception and every exception chained to it,
  so `str()`, `repr()` and `traceback.format_exception()` of an error the HTTP layer
  raises never contain it.

Why both: a token can reach text in ways no code review catches (a provider echoing the
`Authorization` header in an error message, an `h11` error quoting a header value), so
the last line of defence is to search every outgoing text for the known values.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Iterable
from typing import Any, Final

__all__ = [
    "REDACTED",
    "Secret",
    "install_log_redaction",
    "redact",
    "redact_value",
    "register_secret",
    "scrub_exception",
]

REDACTED: Final = "***"
_MIN_TRACKED = 6  # shorter values would redact ordinary words

_lock = threading.Lock()
_live: dict[str, int] = {}  # secret value -> how many times it was registered
_ordered: tuple[str, ...] = ()  # longest first, so a secret containing another wins


class Secret:
    """A string that keeps its value out of `repr()`, `str()`, f-strings and pickles.

    `Secret("dz_live_...").get()` returns the value for the one place that needs it
    (an `Authorization` header). Creating a `Secret` registers its value for log and
    exception redaction.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.get()
        if not isinstance(value, str):
            raise TypeError("a secret must be a string")
        self._value = value
        register_secret(value)

    def get(self) -> str:
        """The secret value itself."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{REDACTED}')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        # Constant-time, so comparing a presented secret leaks nothing through timing.
        return isinstance(other, Secret) and hmac.compare_digest(
            other._value.encode("utf-8"), self._value.encode("utf-8"))

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("secrets are not picklable")


def register_secret(value: str | Secret | None) -> None:
    """Have logs and errors scrub *value* from now on (values under 6 characters are not
    tracked: they would redact ordinary words)."""
    global _ordered
    if value is None:
        return
    text = value.get() if isinstance(value, Secret) else value
    if not isinstance(text, str) or len(text) < _MIN_TRACKED:
        return
    with _lock:
        if text not in _live:
            _ordered = tuple(sorted([*_live, text], key=len, reverse=True))
        _live[text] = _live.get(text, 0) + 1


def redact(text: str) -> str:
    """*text* with every registered secret replaced by `***`."""
    for secret in _ordered:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _contains_secret(text: str) -> bool:
    return any(secret in text for secret in _ordered)


_MAX_DEPTH = 200  # deeper structures are rendered as (redacted) text instead of walked


def redact_value(value: Any, _depth: int = 0) -> Any:
    """*value* with every registered secret replaced by `***` in every string inside it:
    dict keys and values, list and tuple items, at any depth. Returns *value* itself when
    nothing matched (no copy), so it is cheap on clean data."""
    if not _ordered:
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", errors="replace")
        return redact(text).encode("utf-8") if _contains_secret(text) else value
    if _depth >= _MAX_DEPTH and isinstance(value, dict | list | tuple):
        text = repr(value)
        return redact(text) if _contains_secret(text) else value
    if isinstance(value, dict):
        items = [(redact_value(k, _depth + 1), redact_value(v, _depth + 1))
                 for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(items, value.items(),
                                                                 strict=True)):
            return value
        try:
            return type(value)(items)
        except TypeError:
            return dict(items)
    if isinstance(value, list | tuple):
        cleaned = [redact_value(item, _depth + 1) for item in value]
        if all(c is o for c, o in zip(cleaned, value, strict=True)):
            return value
        if isinstance(value, list):
            return cleaned
        try:
            return type(value)(cleaned)
        except TypeError:
            return tuple(cleaned)
    return value


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)


def scrub_exception(exc: BaseException) -> BaseException:
    """Remove registered secrets from *exc* and everything chained to it; returns *exc*.

    Each exception's `args` (what `str()` and `repr()` show) and, for invoicekit errors,
    `message` are redacted in place. Cheap when nothing matches: it only reads.
    """
    if not _ordered:
        return exc
    for current in _chain(exc):
        args = current.args
        try:
            shown = str(current)
        except Exception:  # a broken __str__ is not ours to fix; its args still are
            shown = ""
        _scrub_attributes(current)
        if not _contains_secret(shown) and not any(
                isinstance(a, str) and _contains_secret(a) for a in args):
            continue
        cleaned = tuple(redact(a) if isinstance(a, str) else a for a in args)
        if cleaned == args:
            cleaned = (redact(shown),)
        try:
            current.args = cleaned
        except (AttributeError, TypeError):
            continue
        _scrub_attributes(current)
    return exc


# Attributes of invoicekit's errors that may quote what a provider sent back.
_ERROR_ATTRIBUTES = ("message", "fields", "raw", "request_id", "code")


def _scrub_attributes(exc: BaseException) -> None:
    for name in _ERROR_ATTRIBUTES:
        value = getattr(exc, name, None)
        if value is None:
            continue
        cleaned = redact_value(value)
        if cleaned is not value:
            try:
                setattr(exc, name, cleaned)
            except (AttributeError, TypeError):
                pass


# LogRecord attributes set by `logging` itself that never carry caller data.
_RECORD_PLUMBING = frozenset({
    "name", "levelname", "levelno", "pathname", "filename", "module", "lineno", "funcName",
    "created", "msecs", "relativeCreated", "thread", "threadName", "processName", "process",
    "taskName", "msg", "args", "exc_info", "exc_text", "stack_info",
})


class _RedactingFilter(logging.Filter):
    """Removes registered secrets from everything a formatter may read off a record.

    Not only the message: a JSON formatter or an error tracker also reads the record's
    extra attributes (`http_request_id` ...), its `args`, the exception in `exc_info`
    (which it formats itself, locals included) and `stack_info`.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if not _ordered:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's problem, not ours
            message = None
        if message is not None:
            cleaned = redact(message)
            if cleaned != message:
                record.msg = cleaned
                record.args = None
        if record.args:
            record.args = redact_value(record.args)
        for name, value in list(record.__dict__.items()):
            if name not in _RECORD_PLUMBING:
                cleaned_value = redact_value(value)
                if cleaned_value is not value:
                    record.__dict__[name] = cleaned_value
        if record.exc_info and record.exc_info[1] is not None:
            scrub_exception(record.exc_info[1])  # what a formatter of its own would read
            text = record.exc_text or self._formatter.formatException(record.exc_info)
            if _contains_secret(text):
                record.exc_text = redact(text)
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FILTER = _RedactingFilter()
_LOGGERS = (
    "invoicekit",
    "invoicekit.http",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.connection_pool",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
_installed: set[str] = set()


def install_log_redaction(*loggers: str) -> None:
    """Attach the redacting filter to invoicekit's, httpx's and httpcore's loggers, and to
    any *loggers* named (a plugin's own). Idempotent.

    A `logging` filter only sees records logged *on its own logger*, not those propagated
    from children, which is why each logger that may carry a secret is listed by name.
    """
    for name in (*_LOGGERS, *loggers):
        if name in _installed:
            continue
        with _lock:
            if name not in _installed:
                logging.getLogger(name).addFilter(_FILTER)
                _installed.add(name)
