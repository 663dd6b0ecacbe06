"""The one error tree of invoicekit.

Every failure a caller can see is an `InvoiceKitError`; nothing from `httpx`, `json`
or `cattrs` escapes (the original is chained as `__cause__`).

```
InvoiceKitError
├── ConfigurationError            bad settings, config file or environment
│   └── ProviderNotFound          no provider of that name (names the installed ones)
├── UnsupportedFeature            the provider cannot do what was asked (also ValueError)
├── InvalidRequest                rejected before sending: bad id, bad draft (also ValueError)
└── ProviderError                 the provider answered with an error
    ├── AuthenticationError       401, expired or revoked credentials
    ├── PermissionDenied          403, or a token missing a scope
    ├── NotFound                  404
    ├── Conflict                  409, "already issued", duplicate number, wrong state
    ├── ValidationError           400/422; `.fields` is {field: [messages]}
    ├── RateLimited               429; `.retry_after` seconds
    └── ProviderUnavailable       5xx, timeouts, connection failures, malformed bodies
        └── OutcomeUnknown        a write may or may not have happened
```

`ProviderError` carries `.provider`, `.status`, `.code`, `.message` (verbatim: Salla's
Arabic stays Arabic), `.fields`, `.raw` (the decoded body, or a safe excerpt of it),
`.request_id`, and `.method` / `.path`: the request that failed (`GET`,
`/orders/invoices/42`), set by the HTTP layer. `str(error)` is one line a person can act on.

Secrets never survive in an error: whenever `.message`, `.fields`, `.raw`, `.request_id`
or `.code` is set (by the constructor or later), every registered secret in it is
replaced by `***`, so a provider that echoes the `Authorization` header back cannot put
the token into `str(error)`, a traceback, a log, a report or a journal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._secrets import redact, redact_value

# Attributes that may quote what a provider sent back: redacted whenever they are set.
_REDACTED = frozenset({"message", "fields", "raw", "request_id", "code"})

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "Conflict",
    "InvalidRequest",
    "InvoiceKitError",
    "NotFound",
    "OutcomeUnknown",
    "PermissionDenied",
    "ProviderError",
    "ProviderNotFound",
    "ProviderUnavailable",
    "RateLimited",
    "UnsupportedFeature",
    "ValidationError",
    "error_for_status",
]


class InvoiceKitError(Exception):
    """Root of every error invoicekit raises."""

    def __init__(self, message: str = "", *, provider: str | None = None) -> None:
        message = redact(message) if isinstance(message, str) else message
        super().__init__(message)
        self.message = message
        self.provider = provider

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _REDACTED:
            value = redact_value(value)
        super().__setattr__(name, value)

    def __str__(self) -> str:
        prefix = f"{self.provider}: " if self.provider else ""
        return f"{prefix}{self.message}"


class ConfigurationError(InvoiceKitError):
    """A setting is missing or malformed (the message names it, never its secret value)."""

    def __init__(
        self, message: str, *, setting: str | None = None, provider: str | None = None
    ) -> None:
        super().__init__(message, provider=provider)
        self.setting = setting


class ProviderNotFound(ConfigurationError):
    """No provider of that name is installed; `.installed` lists the ones that are and
    `.suggestion` is the closest installed name (a likely typo), or `None`."""

    def __init__(
        self, name: str, installed: Iterable[str], failed: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.suggestion: str | None = None
        self.installed = sorted(installed)
        self.failed = dict(failed or {})
        listing = ", ".join(self.installed) or "none"
        message = f"no invoicekit provider named {name!r}"
        if name in self.failed:
            message += f"; installed: {listing}; {name!r} failed to load: {self.failed[name]}"
        else:
            # Suggest an installed name, never a package to install: a package named
            # after a typo is exactly what a typosquatter would publish.
            import difflib

            close = difflib.get_close_matches(name, self.installed, n=1, cutoff=0.6)
            self.suggestion = close[0] if close else None
            if self.suggestion is not None:
                message += f" (did you mean {self.suggestion!r}?)"
            message += f"; installed: {listing}"
        super().__init__(message, setting="provider")


class UnsupportedFeature(InvoiceKitError, ValueError):
    """The provider cannot do what was asked; raised before any request is sent.

    `.feature` names the capability. Ignore unsupported *options* deliberately with
    `gateway.with_options(ignore_unsupported=True)`.
    """

    def __init__(
        self, message: str, *, feature: str | None = None, provider: str | None = None
    ) -> None:
        super().__init__(message, provider=provider)
        self.feature = feature


class InvalidRequest(InvoiceKitError, ValueError):
    """Rejected locally before sending: a malformed id, a draft the provider would refuse."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        fields: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        super().__init__(message, provider=provider)
        self.fields: dict[str, list[str]] = {k: list(v) for k, v in (fields or {}).items()}


class ProviderError(InvoiceKitError):
    """The provider answered with an error (or did not answer usefully)."""

    default_message = "the provider returned an error"

    def __init__(
        self,
        message: str | None = None,
        *,
        provider: str | None = None,
        status: int | None = None,
        code: str | None = None,
        fields: Mapping[str, Iterable[str]] | None = None,
        raw: Any = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message or self.default_message, provider=provider)
        self.status = status
        self.code = code
        self.fields: dict[str, list[str]] = {k: list(v) for k, v in (fields or {}).items()}
        self.raw = raw
        self.request_id = request_id
        self.retry_after = retry_after
        # The request that failed (`GET`, `/orders/invoices/42`), set by the HTTP layer
        # so a report can say where it failed; `None` when no request was made.
        self.method: str | None = None
        self.path: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.provider:
            parts.append(self.provider)
        # A message that already starts with the status (a body without a message of
        # its own reads "HTTP 404: ...") is not prefixed with it a second time.
        if self.status is not None and not self.message.startswith(f"HTTP {self.status}"):
            parts.append(f"HTTP {self.status}")
        head = " ".join(parts)
        text = f"{head}: {self.message}" if head else self.message
        if self.fields:
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in self.fields.items())
            text = f"{text} ({details})"
        if self.request_id:
            text = f"{text} [request id {self.request_id}]"
        return text

    def __reduce__(self) -> Any:
        # Keep keyword attributes across pickling (multiprocessing, task queues).
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[ProviderError], message: str, state: dict[str, Any]) -> ProviderError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class AuthenticationError(ProviderError):
    """401: the credentials are missing, expired or revoked."""

    default_message = "authentication failed"


class PermissionDenied(ProviderError):
    """403, or a token without the scope this call needs (`.scope` when known)."""

    default_message = "permission denied"
    scope: str | None = None


class NotFound(ProviderError):
    """404: the invoice (or order, customer) does not exist for these credentials."""

    default_message = "not found"


class Conflict(ProviderError):
    """409 or a documented state conflict: already issued, duplicate number, wrong status."""

    default_message = "conflict with the current state"


class ValidationError(ProviderError, ValueError):
    """400/422: the provider refused the input; `.fields` maps field -> messages."""

    default_message = "the provider rejected the request"


class RateLimited(ProviderError):
    """429 after the allowed retries; `.retry_after` is the wait the provider asked for."""

    default_message = "rate limited"


class ProviderUnavailable(ProviderError):
    """5xx, timeout, connection failure, or a body that is not what the API documents."""

    default_message = "the provider is unavailable"


class OutcomeUnknown(ProviderUnavailable):
    """A write (create, send, void) may or may not have happened.

    It is never retried automatically: find out first (read the invoice back, or let
    the migration journal reconcile), then decide.
    """

    default_message = "the request may or may not have been carried out"


_BY_STATUS: dict[int, type[ProviderError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    422: ValidationError,
    429: RateLimited,
}


def error_for_status(status: int) -> type[ProviderError]:
    """The error class for an HTTP status: the table above, 5xx as `ProviderUnavailable`."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ProviderUnavailable
    if status == 410:
        return NotFound
    return ProviderError
