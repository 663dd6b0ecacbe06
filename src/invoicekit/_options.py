"""Connection settings shared by every HTTP provider, and the `DEFAULT` sentinel."""

from __future__ import annotations

import enum
import ipaddress
import urllib.parse
from collections.abc import Callable
from typing import Any, Final, Literal

import attrs

from .errors import ConfigurationError

__all__ = [
    "DEFAULT",
    "Default",
    "HttpHooks",
    "RetryPolicy",
    "Timeout",
    "check_base_url",
]


class Default(enum.Enum):
    """Type of `DEFAULT`: "use the gateway's setting", distinct from `None` ("no limit")."""

    DEFAULT = "DEFAULT"

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Final = Default.DEFAULT


def _positive(_: Any, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                              or value <= 0):
        raise ConfigurationError(
            f"{attribute.name} must be a positive number of seconds or None, got {value!r}",
            setting=attribute.name,
        )


@attrs.frozen(slots=True)
class Timeout:
    """Timeouts in seconds; `None` waits forever. Connect and read are separate because a
    slow connect means the provider is unreachable, a slow read that it is busy."""

    connect: float | None = attrs.field(default=5.0, validator=_positive)
    read: float | None = attrs.field(default=30.0, validator=_positive)
    write: float | None = attrs.field(default=30.0, validator=_positive)
    pool: float | None = attrs.field(default=10.0, validator=_positive)

    @classmethod
    def coerce(cls, value: Timeout | float | int | None) -> Timeout:
        """Accept a `Timeout`, one number for every phase, or `None` for no timeout."""
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(None, None, None, None)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigurationError(f"timeout must be seconds or a Timeout, got {value!r}",
                                     setting="timeout")
        v = float(value)
        return cls(v, v, v, v)


@attrs.frozen(slots=True)
class RetryPolicy:
    """When and how reads are retried (writes only when nothing can have reached the provider).

    Waits grow as `backoff_initial * 2**attempt` up to `backoff_max`, with full jitter. A
    `Retry-After` longer than `retry_after_cap` is not waited for: `RateLimited` is raised.
    """

    max_retries: int = 2
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    retry_after_cap: float = 60.0
    jitter: bool = True
    retry_statuses: frozenset[int] = frozenset({429, 502, 503, 504})

    def __attrs_post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) or (
            self.max_retries < 0
        ):
            raise ConfigurationError(
                f"max_retries must be a non-negative int, got {self.max_retries!r}",
                setting="max_retries",
            )


RequestHook = Callable[["RequestInfo"], object]
ResponseHook = Callable[["ResponseInfo"], object]


@attrs.frozen(slots=True)
class RequestInfo:
    """What a request hook sees (no headers, no body: nothing secret)."""

    provider: str
    operation: str
    method: str
    path: str
    url: str
    attempt: int


@attrs.frozen(slots=True)
class ResponseInfo:
    """What a response hook sees. `status` is `None` when no response arrived."""

    provider: str
    operation: str
    method: str
    path: str
    status: int | None
    elapsed: float
    attempt: int
    request_id: str | None
    error: str | None = None


@attrs.frozen(slots=True)
class HttpHooks:
    """Callables run around every HTTP attempt, for metrics or tracing; failures are logged."""

    on_request: tuple[RequestHook, ...] = ()
    on_response: tuple[ResponseHook, ...] = ()


Scheme = Literal["https", "http"]


def check_base_url(url: str, *, setting: str = "base_url") -> str:
    """Refuse a `base_url` that is not https, unless it points at loopback (a sandbox)."""
    if not isinstance(url, str) or not url:
        raise ConfigurationError(f"{setting} must be a URL string", setting=setting)
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise ConfigurationError(f"{setting} {url!r} is not an http(s) URL", setting=setting)
    if parsed.username or parsed.password:
        raise ConfigurationError(f"{setting} must not carry credentials", setting=setting)
    if parsed.scheme == "http" and not _is_loopback(parsed.hostname):
        raise ConfigurationError(
            f"{setting} {url!r} is plain http; use https (plain http is allowed for loopback only)",
            setting=setting,
        )
    return url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


__all__ += ["RequestInfo", "ResponseInfo"]
