"""The base cattrs converter that every provider's wire converter builds on.

cattrs has no `Decimal` hooks of its own, and its defaults would happily accept a
float; this converter registers exact hooks:

* `Decimal` from `int`, numeric `str` or `Decimal` only; a JSON float is converted
  through its shortest repr (`90.5` -> `Decimal("90.5")`), never through binary
  arithmetic, because providers do send numbers (Salla: `"amount": 35.3`). Bools,
  NaN and infinities are refused.
* `datetime.date` / `datetime.datetime` from ISO 8601 strings.
* Enums by value.

`structure()` wraps any cattrs failure in `InvalidRequest` (for data the caller gave)
or, through `Response.malformed`, in `ProviderUnavailable` (for data a provider sent).

Import this module only from provider plugins: `import invoicekit` does not load cattrs.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import cattrs

from ._provider import Response
from .errors import InvalidRequest

__all__ = ["AMOUNT_TEXT", "base_converter", "decimal_from_wire", "parse_date", "parse_datetime"]

T = TypeVar("T")


AMOUNT_TEXT = re.compile(
    r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+"        # 90.50, 90, .5, 90.
    r"|[0-9]{1,3}(?:,[0-9]{3})+\.[0-9]*"           # 1,234.50: a point after the groups
    r"|[0-9]{1,3}(?:,[0-9]{3}){2,})",              # 1,234,567: two groups or more
    re.ASCII)
"""The numeric text a provider may send for an amount. Thousands commas are taken only
where no one could read them as a decimal comma (`"90,50"`, `"1,234"`, `"1,2,3"` and
`",5"` are not amounts); Python's other spellings (`1_000`, `1e3`, `NaN`, non-ASCII
digits) are refused too."""


def decimal_from_wire(value: Any) -> Decimal:
    """A JSON number or numeric string (`AMOUNT_TEXT`) as an exact `Decimal`.

    A JSON float was already parsed by `json.loads`; its `repr` is the shortest string
    that round-trips, which is exactly the digits the provider wrote (`35.3`).
    """
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if AMOUNT_TEXT.fullmatch(text) is None:
            raise ValueError(f"{value[:40]!r} is not an amount")
        result = Decimal(text.replace(",", ""))
    else:
        raise ValueError(f"expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return result


def parse_date(value: Any) -> dt.date:
    """A date from `YYYY-MM-DD` (or the date part of an ISO datetime)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a date string, got {type(value).__name__}")
    text = value.strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"{value!r} is not a YYYY-MM-DD date") from None


def parse_datetime(value: Any) -> dt.datetime:
    """A datetime from ISO 8601 (`Z` accepted); naive values are taken as UTC."""
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, str):
        try:
            result = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 datetime") from None
    else:
        raise ValueError(f"expected a datetime string, got {type(value).__name__}")
    if result.tzinfo is None:
        result = result.replace(tzinfo=dt.UTC)
    return result


def _is_optional(type_: Any) -> bool:
    """`X | None` (or `Optional[X]`) with exactly one other member."""
    if typing.get_origin(type_) not in (typing.Union, types.UnionType):
        return False
    args = typing.get_args(type_)
    return len(args) == 2 and type(None) in args


def _optional_hook(conv: cattrs.Converter) -> Callable[[Any], Callable[[Any, Any], Any]]:
    # cattrs' own optional hook looks the inner hook up again on every value; this one
    # resolves it once, when a class's structuring function is generated.
    def factory(type_: Any) -> Callable[[Any, Any], Any]:
        # A hook registered for the union itself (Salla's `date | None`) still wins; cattrs
        # keeps those in its union registry, which this factory would otherwise shadow.
        registered = getattr(conv, "_union_struct_registry", {}).get(type_)
        if registered is not None:
            return registered  # type: ignore[no-any-return]
        inner = next(arg for arg in typing.get_args(type_) if arg is not type(None))
        hook = conv.get_structure_hook(inner)

        def structure_optional(value: Any, _: Any) -> Any:
            return None if value is None else hook(value, inner)
        return structure_optional
    return factory


def base_converter(*, forbid_extra_keys: bool = False) -> cattrs.Converter:
    """A new converter with invoicekit's hooks; providers add their own on top.

    Unknown keys are ignored by default (providers add fields; the full payload is kept
    in `Invoice.raw` anyway). Use `detailed_validation=False` for speed: on failure,
    rerun with `explain()` to build the message.
    """
    conv = cattrs.Converter(detailed_validation=False, forbid_extra_keys=forbid_extra_keys)
    conv.register_structure_hook(Decimal, lambda v, _: decimal_from_wire(v))
    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(dt.date, lambda v, _: parse_date(v))
    conv.register_unstructure_hook(dt.date, dt.date.isoformat)
    conv.register_structure_hook(dt.datetime, lambda v, _: parse_datetime(v))
    conv.register_unstructure_hook(dt.datetime, dt.datetime.isoformat)
    conv.register_structure_hook_factory(_is_optional, _optional_hook(conv))
    return conv


def explain(converter: cattrs.Converter, data: Any, cls: type[Any]) -> str:
    """Why *data* does not structure into *cls*, as readable text (slow path only)."""
    # Reuse the fast converter's hooks by copying it with detailed validation switched on.
    detailed = converter.copy(detailed_validation=True)
    try:
        detailed.structure(data, cls)
    except Exception as exc:
        lines = cattrs.transform_error(exc) if isinstance(exc, cattrs.BaseValidationError) else [
            f"{type(exc).__name__}: {exc}"]
        return "; ".join(lines)
    return "unknown structuring failure"


def structure(converter: cattrs.Converter, data: Any, cls: type[T], *, what: str) -> T:
    """Structure caller-provided *data*; failures become `InvalidRequest` naming the fields."""
    try:
        return converter.structure(data, cls)
    except Exception as exc:
        raise InvalidRequest(f"invalid {what}: {explain(converter, data, cls)}") from exc


def structure_response(converter: cattrs.Converter, response: Response, data: Any,
                       cls: type[T], *, what: str) -> T:
    """Structure *data* a provider sent in *response*; a failure becomes the typed error
    (`ProviderUnavailable`, or `OutcomeUnknown` after a write) naming the field that did
    not fit. The fast converter runs first; `explain()` reruns with detailed validation only
    to build the message."""
    try:
        return converter.structure(data, cls)
    except Exception as exc:
        raise response.malformed(f"unexpected {what}: {explain(converter, data, cls)}",
                                 exc) from exc


def dumps(value: Any) -> str:
    """Compact JSON with non-ASCII kept readable (Arabic stays Arabic)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


__all__ += ["dumps", "explain", "structure", "structure_response"]
