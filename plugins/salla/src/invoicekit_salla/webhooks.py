"""Salla webhooks: verify a delivery, then read it (an `invoice.created` becomes an `Invoice`).

Salla signs each delivery one of two ways, chosen in the app's settings:

* **Signature** (`X-Salla-Security-Strategy: Signature`): `X-Salla-Signature` is the hex
  HMAC-SHA256 of the raw request body keyed with the webhook secret.
* **Token** (`X-Salla-Security-Strategy: Token`): the webhook secret itself arrives in
  `Authorization` (as `Bearer <token>` or bare).

The application says which strategy it configured; the delivery's own header is only
checked against it (an attacker can write headers too). Comparisons are constant-time.

```python
from invoicekit_salla import WebhookError, verify_webhook

try:
    event = verify_webhook(request.body, request.headers, secret=WEBHOOK_SECRET)
except WebhookError:
    return 401
if seen.add_if_new(event.dedup_key) and event.invoice is not None:
    handle(event.invoice)          # deliveries can repeat: dedup_key is stable across them
```

Pass the body exactly as received (bytes): re-serialised JSON would not match the
signature. A delivery older than `max_age` (from its `created_at`), or dated more than
`clock_skew` in the future, is refused as stale, so a captured delivery cannot be
replayed later; `max_age=None` turns that check off.

Whatever arrives (headers that are not text, a body nested 100,000 levels deep, dates
out of range, an invoice that is not one) is refused with `WebhookError`, never another
exception: an endpoint can answer every refusal with 401 in one `except`.

Salla documents no delivery id, so `dedup_key` is a digest of the raw body: a repeat of
a delivery is the same bytes, signed the same way; any two distinct deliveries differ.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from invoicekit import Invoice, Secret, errors

from ._wire import WireFormatError, to_invoice

__all__ = ["DEFAULT_MAX_AGE", "WebhookError", "WebhookEvent", "verify_webhook"]

DEFAULT_MAX_AGE = dt.timedelta(hours=1)
"""Salla retries a failed delivery a few times over several minutes; an hour covers those
retries while still refusing old, replayed deliveries."""

DEFAULT_CLOCK_SKEW = dt.timedelta(minutes=5)
"""How far in the future a delivery's `created_at` may be (Salla's clock and ours differ a
little); anything later is refused like a stale delivery, or a delivery captured now
could be dated to be replayed for as long as the attacker likes."""

_RIYADH = dt.timezone(dt.timedelta(hours=3))
_STRATEGIES = ("signature", "token")


class WebhookError(errors.InvoiceKitError, ValueError):
    """A delivery that must not be trusted or cannot be read.

    `.reason` is one of `unsigned`, `bad_signature`, `bad_token`, `wrong_strategy`,
    `stale` (too old, or dated in the future), `undated`, `malformed`. The message
    never contains the secret or signature.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, provider="salla")
        self.reason = reason


@attrs.frozen(slots=True)
class WebhookEvent:
    """A verified Salla delivery.

    `invoice` is set for invoice events whose `data` is an invoice. `dedup_key` is the
    same for every repeat of one delivery and differs between deliveries (a digest of
    the raw body: Salla sends no delivery id): store it to handle each event once.
    """

    event: str
    merchant: str | None
    created_at: dt.datetime | None
    dedup_key: str
    data: Mapping[str, Any] = attrs.field(repr=False)
    invoice: Invoice | None = None


def _created_at(value: Any) -> dt.datetime | None:
    """Salla writes `created_at` as a JS date ("Wed Jun 15 2022 12:06:26 GMT+0300"),
    ISO 8601, or "YYYY-MM-DD HH:MM:SS" in Riyadh time."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    js = text.split(" (")[0]  # "... GMT+0300 (Arabian Standard Time)"
    try:
        return dt.datetime.strptime(js, "%a %b %d %Y %H:%M:%S GMT%z")
    except ValueError:
        pass
    try:
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=_RIYADH)


def _header_bytes(value: str, name: str) -> bytes:
    # Header values are text; one that cannot be UTF-8 (a lone surrogate, as a server
    # decoding bytes with `surrogateescape` leaves them) cannot match any secret.
    try:
        return value.encode("utf-8")
    except UnicodeError:
        raise WebhookError(f"the {name} header is not valid text", reason="malformed") from None


def _bearer(value: str) -> str:
    text = value.strip()
    return text[7:].strip() if text[:7].lower() == "bearer " else text


def _check(body: bytes, headers: Mapping[str, str], secret: str, strategy: str) -> None:
    declared = headers.get("x-salla-security-strategy")
    if declared is not None and declared.strip().lower() != strategy:
        raise WebhookError(
            f"delivery declares the {declared.strip()!r} strategy, but {strategy!r} is configured",
            reason="wrong_strategy")
    if strategy == "signature":
        given = headers.get("x-salla-signature")
        if not given or not given.strip():
            raise WebhookError("delivery is unsigned (no X-Salla-Signature)", reason="unsigned")
        expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
        candidate = given.strip().lower().removeprefix("sha256=")
        if not hmac.compare_digest(expected.encode("ascii"),
                                   _header_bytes(candidate, "X-Salla-Signature")):
            raise WebhookError("X-Salla-Signature does not match the body", reason="bad_signature")
    else:
        given = headers.get("authorization")
        if not given or not given.strip():
            raise WebhookError("delivery carries no token (no Authorization)", reason="unsigned")
        if not hmac.compare_digest(secret.encode("utf-8"),
                                   _header_bytes(_bearer(given), "Authorization")):
            raise WebhookError("the delivery's token does not match", reason="bad_token")


def _dedup_key(body: bytes) -> str:
    # Salla documents no delivery id (header or field): the raw body is the delivery's
    # identity. A repeat resends the same bytes; two deliveries that differ in anything
    # (an update in the same second, an undated event) differ here.
    return "salla-" + hashlib.sha256(body).hexdigest()


def _header_text(value: Any) -> str:
    # Some servers hand header values over as bytes (latin-1 on the wire, per HTTP).
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    return str(value)


def _fresh(created: dt.datetime | None, max_age: dt.timedelta, clock_skew: dt.timedelta,
           now: dt.datetime | None) -> None:
    if created is None:
        raise WebhookError("delivery has no readable created_at; cannot tell its age",
                           reason="undated")
    current = now if now is not None else dt.datetime.now(dt.UTC)
    if current.tzinfo is None:
        raise errors.InvalidRequest("now must be timezone-aware", provider="salla")
    try:
        age = current - created
    except OverflowError:  # a created_at at the edge of the calendar, offset out of range
        raise WebhookError("delivery's created_at is out of range", reason="undated") from None
    if age > max_age:
        raise WebhookError(f"delivery is stale (created {created.isoformat()})", reason="stale")
    if -age > clock_skew:
        raise WebhookError(f"delivery is dated in the future (created {created.isoformat()})",
                           reason="stale")


def verify_webhook(
    body: bytes,
    headers: Mapping[str, str],
    *,
    secret: str | Secret,
    strategy: str = "signature",
    max_age: dt.timedelta | None = DEFAULT_MAX_AGE,
    clock_skew: dt.timedelta = DEFAULT_CLOCK_SKEW,
    now: dt.datetime | None = None,
) -> WebhookEvent:
    """Verify and read one delivery; raise `WebhookError` if it cannot be trusted or read.

    `headers` may use any letter case (values as `str` or `bytes`). `strategy` is
    `"signature"` or `"token"`, as set in the Salla app. A delivery older than `max_age`
    or dated more than `clock_skew` ahead is refused (`reason="stale"`). `now` is for
    tests.
    """
    value = secret.get() if isinstance(secret, Secret) else secret
    if not isinstance(value, str) or not value:
        raise errors.ConfigurationError("the webhook secret is empty", setting="secret",
                                        provider="salla")
    try:
        value.encode("utf-8")
    except UnicodeError:
        raise errors.ConfigurationError("the webhook secret is not valid text",
                                        setting="secret", provider="salla") from None
    if strategy not in _STRATEGIES:
        raise errors.ConfigurationError(
            f"strategy must be 'signature' or 'token', got {strategy!r}", setting="strategy",
            provider="salla")
    if not isinstance(body, bytes | bytearray | memoryview):
        raise WebhookError("pass the raw request body as bytes, exactly as received",
                           reason="malformed")
    raw = bytes(body)
    try:
        lowered = {_header_text(k).lower(): _header_text(v) for k, v in headers.items()}
    except (AttributeError, TypeError, ValueError):
        raise WebhookError("headers must be a mapping of names to values",
                           reason="malformed") from None
    _check(raw, lowered, value, strategy)

    try:
        payload = json.loads(raw.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError):
        raise WebhookError("delivery body is not JSON", reason="malformed") from None
    except RecursionError:
        raise WebhookError("delivery body is nested too deeply to read",
                           reason="malformed") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
        raise WebhookError("delivery has no event name", reason="malformed")
    data = payload.get("data")
    data = data if isinstance(data, dict) else {}
    merchant = payload.get("merchant")
    merchant_id = (str(merchant) if isinstance(merchant, str | int)
                   and not isinstance(merchant, bool) else None)

    created = _created_at(payload.get("created_at"))
    if max_age is not None:
        _fresh(created, max_age, clock_skew, now)

    event = payload["event"]
    invoice = None
    if event.startswith("invoice.") and data:
        try:
            invoice = to_invoice(data)
        except WireFormatError as exc:
            raise WebhookError(f"{event} delivery has an unreadable invoice: {exc}",
                               reason="malformed") from exc
    return WebhookEvent(
        event=event,
        merchant=merchant_id,
        created_at=created,
        dedup_key=_dedup_key(raw),
        data=data,
        invoice=invoice,
    )
