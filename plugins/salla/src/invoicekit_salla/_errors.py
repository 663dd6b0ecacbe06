"""Salla's error envelope -> invoicekit's error tree.

Salla answers errors as `{"status", "success": false, "error": {"code", "message",
"fields"}}`. `error.code` is not a stable discriminator (`"error"`, `"Unauthorized"`, ...),
so the class is chosen from the HTTP status and, for the cases that matter, from the
documented message texts:

* 401 "The access token should have access to one of those scopes: X" is a token that
  is valid but lacks a scope: `PermissionDenied` with `.scope` (refreshing cannot help).
  Any other 401 is `AuthenticationError`.
* 422 "invoice already issued for this order" (تم اصدار فاتورة للطلب سابقا / من قبل, and
  "a previous invoice exists for this order") and "duplicate invoice number"
  (رقم الفاتورة مكرر) are `Conflict`: the input was fine, the store's state refuses it.
  Every other 422 is `ValidationError`.
* The OAuth token endpoint's `{"error": "invalid_grant", "error_description": ...}` keeps
  `error` as `.code`; `oauth.py` turns `invalid_grant` into its own message.

Messages and field messages are kept verbatim (Arabic stays Arabic). The texts matched
are in `ALREADY_ISSUED` and `DUPLICATE_NUMBER`, in one place, with the English
renderings (`Accept-Language: en`) beside them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from invoicekit import Response, errors

__all__ = [
    "ALREADY_ISSUED",
    "DUPLICATE_NUMBER",
    "error_from_response",
    "normalise_fields",
    "scope_of",
]

ALREADY_ISSUED = (
    "تم اصدار فاتورة للطلب سابقا",
    "تم اصدار فاتورة للطلب من قبل",
    "هنالك فاتورة مسبقة لهذا الطلب",
    "already been issued",
    "already issued",
)
"""Texts (normalised: no hamza forms, single spaces) meaning "this order has its invoice"."""

DUPLICATE_NUMBER = ("رقم الفاتورة مكرر", "invoice number is duplicated", "duplicate invoice number")
"""Texts meaning "that invoice number is taken"."""

_SCOPE = re.compile(r"access to one of those scopes:\s*(?P<scopes>[\w.,\s-]+)", re.IGNORECASE)
_ALEF = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا"})


def _normal(text: str) -> str:
    return " ".join(text.translate(_ALEF).split()).lower()


def normalise_fields(value: Any) -> dict[str, list[str]]:
    """Salla's `error.fields` as `{field: [messages]}`.

    Accepts a list of messages or a single message per field, and an empty list for "no
    fields" (PHP encodes an empty map as `[]`).
    """
    if not isinstance(value, Mapping):
        return {}
    fields: dict[str, list[str]] = {}
    for key, messages in value.items():
        if isinstance(messages, str):
            fields[str(key)] = [messages]
        elif isinstance(messages, list | tuple):
            fields[str(key)] = [m if isinstance(m, str) else json.dumps(m, ensure_ascii=False,
                                                                        default=str)
                                for m in messages]
        elif messages is not None:
            fields[str(key)] = [str(messages)]
    return fields


def scope_of(message: str) -> str | None:
    """The scope a 401 message says the token lacks (the first, if it names several)."""
    match = _SCOPE.search(message)
    if match is None:
        return None
    scopes = [s for s in re.split(r"[\s,]+", match.group("scopes")) if s]
    return scopes[0] if scopes else None


def _mentions(texts: list[str], needles: tuple[str, ...]) -> bool:
    wanted = [_normal(n) for n in needles]
    return any(n in _normal(t) for t in texts for n in wanted)


def _decode(response: Response) -> Any:
    try:
        return json.loads(response.content.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError):
        return None


def error_from_response(response: Response, *, provider: str) -> errors.ProviderError:
    """The typed error for a Salla error response; never raises."""
    body = _decode(response)
    status = response.status
    code: str | None = None
    message: str | None = None
    fields: dict[str, list[str]] = {}
    if isinstance(body, Mapping):
        err = body.get("error")
        if isinstance(err, Mapping):
            code = err["code"] if isinstance(err.get("code"), str) else None
            message = err["message"] if isinstance(err.get("message"), str) else None
            fields = normalise_fields(err.get("fields"))
        elif isinstance(err, str):  # the OAuth endpoint: {"error": "invalid_grant", ...}
            code = err
            described = body.get("error_description")
            message = described if isinstance(described, str) else err
        if message is None and isinstance(body.get("message"), str):
            message = body["message"]
    raw: Any = body if body is not None else response.excerpt()
    if message is None:
        message = f"HTTP {status}: {response.excerpt() or 'no body'}"

    texts = [message, *(m for ms in fields.values() for m in ms)]
    cls = errors.error_for_status(status)
    scope = scope_of(message) if status in (401, 403) else None
    if scope is not None:
        cls = errors.PermissionDenied
    elif status == 422 and _mentions(texts, ALREADY_ISSUED + DUPLICATE_NUMBER):
        cls = errors.Conflict
    error = cls(message, provider=provider, status=status, code=code, fields=fields, raw=raw,
                request_id=response.request_id)
    if isinstance(error, errors.PermissionDenied):
        error.scope = scope
    return error
