"""DayZero's error answers, mapped to invoicekit's error tree.

DayZero is a FastAPI application, so its errors come in FastAPI's two shapes:

* `{"detail": "Invoice not found"}` for errors the API raises itself, and
* `{"detail": [{"loc": ["body", "line_items", 0, "quantity"], "msg": "...", "type": "..."}]}`
  for request validation (422). Each entry becomes `fields["body.line_items.0.quantity"]`.

The class follows the HTTP status (`errors.error_for_status`: 401 `AuthenticationError`,
403 `PermissionDenied`, 404 `NotFound`, 409 `Conflict`, 400/422 `ValidationError`, 429
`RateLimited`, 5xx `ProviderUnavailable`). A `{success: false, message, code}` envelope is
read as well. Messages are kept verbatim (with any live secret an API echoes replaced by
`***`); this parser never raises.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from invoicekit import Response, errors
from invoicekit.provider import redact

__all__ = ["dotted_location", "error_from_response"]


def dotted_location(loc: Any) -> str:
    """`["body", "line_items", 0, "quantity"]` -> `"body.line_items.0.quantity"`."""
    if isinstance(loc, list | tuple):
        return ".".join(str(part) for part in loc) or "request"
    if isinstance(loc, str | int) and not isinstance(loc, bool):
        return str(loc)
    return "request"


def _validation_items(detail: list[Any]) -> tuple[dict[str, list[str]], list[str], str | None]:
    fields: dict[str, list[str]] = {}
    lines: list[str] = []
    code: str | None = None
    for entry in detail:
        if isinstance(entry, Mapping):
            where = dotted_location(entry.get("loc"))
            msg = entry.get("msg")
            text = msg if isinstance(msg, str) else json.dumps(msg, ensure_ascii=False)
            kind = entry.get("type")
            if code is None and isinstance(kind, str):
                code = kind
        else:
            where, text = "request", str(entry)
        fields.setdefault(where, []).append(text)
        lines.append(f"{where}: {text}")
    return fields, lines, code


def error_from_response(response: Response) -> errors.ProviderError:
    """The typed error for a DayZero error *response* (never raises)."""
    data: Any = None
    if response.content:
        try:
            # Redacted before parsing: an API that echoes the token must not put it in
            # the exception's message, fields or raw body.
            data = json.loads(redact(response.content.decode("utf-8")))
        except (UnicodeDecodeError, ValueError):
            data = None
    message: str | None = None
    code: str | None = None
    fields: dict[str, list[str]] = {}
    if isinstance(data, Mapping):
        detail = data.get("detail")
        if isinstance(detail, str) and detail:
            message = detail
        elif isinstance(detail, list):
            fields, lines, code = _validation_items(detail)
            message = "request validation failed: " + ("; ".join(lines) or "no details")
        elif isinstance(detail, Mapping) and isinstance(detail.get("message"), str):
            message = detail["message"]
        if message is None and isinstance(data.get("message"), str) and data["message"]:
            message = data["message"]
        if code is None and isinstance(data.get("code"), str | int):
            code = str(data["code"])
    if message is None:
        message = f"HTTP {response.status}: {response.excerpt() or 'no body'}"
    cls = errors.error_for_status(response.status)
    return cls(
        message,
        provider="dayzero",
        status=response.status,
        code=code,
        fields=fields,
        raw=data if data is not None else response.excerpt(),
        request_id=response.request_id,
    )
