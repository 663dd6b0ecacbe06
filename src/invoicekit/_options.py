"""Connection settings shared by every HTTP provider, and the `DEFAULT` sentinel."""

from __future__ import annotations

import enum
import ipaddress
import re
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any, Final, Literal

import attrs

from .errors import ConfigurationError

__all__ = [
    "DEFAULT",
    "Default",
    "HttpHooks",
    "RequestInfo",
    "ResponseInfo",
    "RetryPolicy",
    "Timeout",
    "check_base_url",
    "coerce_flag",
    "coerce_hooks",
    "coerce_retry",
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


def _non_negative(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ConfigurationError(
            f"{attribute.name} must be a non-negative number of seconds, got {value!r}",
            setting=attribute.name,
        )


_MAX_CAP = 86_400.0  # a day: longer is a hang in all but name, and overflows some sleeps


def _cap(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            0 <= value <= _MAX_CAP):
        raise ConfigurationError(
            f"{attribute.name} must be a number of seconds from 0 to {_MAX_CAP:.0f} (a day), "
            f"got {value!r}", setting=attribute.name)


def _statuses(value: Iterable[int]) -> frozenset[int]:
    return frozenset(value)


@attrs.frozen(slots=True)
class RetryPolicy:
    """When and how requests are retried (see docs/reliability.md).

    Reads retry on connection errors, timeouts and `retry_statuses`; writes only when
    nothing can have reached the provider (the connection never opened, or a 429). Waits
    grow as `backoff_initial * 2**attempt` up to `backoff_max`, with full jitter (a random
    wait between 0 and that ceiling, so many clients do not retry in lockstep). A
    `Retry-After` is waited exactly, unless it is longer than `retry_after_cap`: then the
    call fails at once with `RateLimited` (or `ProviderUnavailable` for a 503) carrying
    `.retry_after`, because a worker silently blocked for an hour helps nobody. The same
    cap bounds every wait the throttle computes from the rate-limit headers; it is at
    most a day.
    """

    max_retries: int = 2
    backoff_initial: float = attrs.field(default=0.5, validator=_non_negative)
    backoff_max: float = attrs.field(default=8.0, validator=_non_negative)
    retry_after_cap: float = attrs.field(default=60.0, validator=_cap)
    jitter: bool = True
    retry_statuses: frozenset[int] = attrs.field(
        default=frozenset({429, 502, 503, 504}), converter=_statuses)

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


def _hook_tuple(value: Callable[..., object] | Iterable[Callable[..., object]] | None
                ) -> tuple[Callable[..., object], ...]:
    if value is None:
        return ()
    if callable(value):
        return (value,)
    hooks = tuple(value)
    for hook in hooks:
        if not callable(hook):
            raise ConfigurationError(f"a hook must be callable, got {hook!r}", setting="hooks")
    return hooks


@attrs.frozen(slots=True)
class HttpHooks:
    """Callables run around every HTTP attempt (retries included), for metrics or tracing.

    Each of `on_request` / `on_response` takes one callable or a sequence of them. They
    are called synchronously, also by the async gateway, so keep them quick (hand the
    `RequestInfo`/`ResponseInfo` to a queue for anything slow). A hook that raises is
    logged under `invoicekit.http` and otherwise ignored: observing a call never breaks it.
    """

    on_request: tuple[RequestHook, ...] = attrs.field(default=(), converter=_hook_tuple)
    on_response: tuple[ResponseHook, ...] = attrs.field(default=(), converter=_hook_tuple)


Scheme = Literal["https", "http"]


def check_base_url(url: str, *, setting: str = "base_url") -> str:
    """Refuse a `base_url` that is not https, unless it points at loopback (a sandbox).

    Plain http would send the bearer token in clear text; loopback never leaves the
    machine. Credentials, a query or a fragment in the URL are refused too: they would
    end up in every request (and in logs). Returns the URL without a trailing `/`.
    """
    if not isinstance(url, str) or not url:
        raise ConfigurationError(f"{setting} must be a URL string", setting=setting)
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise ConfigurationError(f"{setting} must not contain whitespace or control characters",
                                 setting=setting)
    # Never echo credentials someone put in the URL (`https://user:pass@host`).
    shown = re.sub(r"//[^/?#]*@", "//***@", url)
    try:
        parsed = urllib.parse.urlsplit(url)
        hostname = parsed.hostname
        parsed.port  # noqa: B018 - validates the port number
    except ValueError as exc:
        raise ConfigurationError(f"{setting} {shown!r} is not a valid URL: {exc}",
                                 setting=setting) from None
    if parsed.scheme not in ("https", "http") or not hostname:
        raise ConfigurationError(f"{setting} {shown!r} is not an http(s) URL", setting=setting)
    if parsed.username is not None or parsed.password is not None:
        raise ConfigurationError(f"{setting} must not carry credentials", setting=setting)
    if parsed.query or parsed.fragment or url.rstrip("/").endswith(("?", "#")):
        raise ConfigurationError(f"{setting} must not have a query or fragment",
                                 setting=setting)
    if parsed.scheme == "http" and not _is_loopback(hostname):
        raise ConfigurationError(
            f"{setting} {shown!r} is plain http; use https "
            "(plain http is allowed for loopback only)",
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



def coerce_retry(value: object) -> RetryPolicy:
    """The `retry=` setting: a `RetryPolicy`, or `None` for the default one.

    Anything else is a `ConfigurationError` naming the setting (a number is the commonest
    slip: it belongs in `max_retries=`), rather than an `AttributeError` on first use.
    """
    if value is None:
        return RetryPolicy()
    if isinstance(value, RetryPolicy):
        return value
    hint = " (for a number of retries, pass max_retries=...)" if isinstance(
        value, int | float) else ""
    raise ConfigurationError(
        f"retry must be an invoicekit.RetryPolicy or None, got {type(value).__name__}{hint}",
        setting="retry")


def coerce_hooks(value: object) -> HttpHooks:
    """The `hooks=` setting: an `HttpHooks`, or `None` for none.

    A bare callable or a list of them is refused with a `ConfigurationError` naming the
    setting, since it cannot say whether it should run before or after each attempt.
    """
    if value is None:
        return HttpHooks()
    if isinstance(value, HttpHooks):
        return value
    raise ConfigurationError(
        f"hooks must be an invoicekit.HttpHooks(on_request=..., on_response=...) or None, "
        f"got {type(value).__name__}", setting="hooks")


def coerce_flag(value: object, setting: str) -> bool:
    """A yes/no setting passed in code: `True` or `False` only.

    `bool("no")` is `True`: taking any value's truth would turn `throttle="no"` into
    throttling *on*. Text from a config file or the environment is parsed (strictly) by
    `from_config` before it gets here; anything but a bool here is a `ConfigurationError`.
    """
    if isinstance(value, bool):
        return value
    raise ConfigurationError(
        f"{setting} must be True or False, got {type(value).__name__} {value!r:.40}",
        setting=setting)
