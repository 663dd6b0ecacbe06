"""Request bodies as exact JSON: `json_body`, the one writer every request body passes through.

It has no `httpx` in it, so plugins and sandboxes use it (through `invoicekit.provider`)
without loading the HTTP layer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = ["json_body"]


def json_body(value: Any) -> bytes:
    """*value* as compact UTF-8 JSON, as httpx sends `json=`, except that a `Decimal`
    becomes an exact JSON number (`Decimal("90.50")` -> `90.50`), never a float or a string.

    Salla documents its amounts as JSON numbers; going through `float` could change them.

    Every request body passes through here, so the common shapes take fast paths: plain
    JSON (dicts with `str` keys, lists, tuples, strings, numbers, booleans, `None`) is
    written by the C encoder of `json` in one call, and such JSON with `Decimal`s in it by
    a writer that only formats the `Decimal`s in Python. Anything else (other mappings,
    subclasses, non-`str` keys, values `json` cannot write, nesting deeper than
    `_MAX_FAST_DEPTH`) and any failure take `_json_text`, the plain recursive writer, so
    the bytes and the errors are exactly those of `_json_text` for every input (a
    property test compares the two).
    """
    try:
        kind = _json_kind(value, 0)
        if kind == _PLAIN_JSON:
            return _c_encode(value).encode("utf-8")
        if kind == _WITH_DECIMALS:
            return _exact_text(value).encode("utf-8")
    except ValueError:
        pass  # NaN or infinity somewhere: let `_json_text` raise its own error
    return _json_text(value).encode("utf-8")


_PLAIN_JSON, _WITH_DECIMALS, _OTHER = 0, 1, 2
_MAX_FAST_DEPTH = 64
_LEAVES = frozenset({str, int, float, bool, type(None)})
_encode_str = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses
_leaf_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
# `_json_kind` has already refused cycles (by depth) and everything the C encoder would
# write differently, so it needs no circularity check and no `default`.
_c_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                             check_circular=False).encode


def _json_kind(value: Any, depth: int) -> int:
    """`_PLAIN_JSON`, `_WITH_DECIMALS` (plain but for exact `Decimal`s), or `_OTHER`."""
    cls = value.__class__
    if cls is dict:
        if depth > _MAX_FAST_DEPTH:
            return _OTHER
        kind = _PLAIN_JSON
        for key, item in value.items():
            if key.__class__ is not str:
                return _OTHER
            if item.__class__ not in _LEAVES:
                found = _json_kind(item, depth + 1)
                if found == _OTHER:
                    return _OTHER
                kind |= found
        return kind
    if cls is list or cls is tuple:
        if depth > _MAX_FAST_DEPTH:
            return _OTHER
        kind = _PLAIN_JSON
        for item in value:
            if item.__class__ not in _LEAVES:
                found = _json_kind(item, depth + 1)
                if found == _OTHER:
                    return _OTHER
                kind |= found
        return kind
    if cls is Decimal:
        return _WITH_DECIMALS
    return _PLAIN_JSON if cls in _LEAVES else _OTHER


def _exact_text(value: Any) -> str:
    """`_json_text` for a value `_json_kind` found to be `_WITH_DECIMALS`."""
    cls = value.__class__
    if cls is dict:
        return "{" + ",".join([f"{_encode_str(key)}:{_exact_text(item)}"
                               for key, item in value.items()]) + "}"
    if cls is list or cls is tuple:
        return "[" + ",".join([_exact_text(item) for item in value]) + "]"
    if cls is Decimal:
        if not value.is_finite():
            raise ValueError(f"{value!r} cannot be sent as a JSON number")
        return format(value, "f")
    if cls is str:
        return _encode_str(value)
    return _leaf_encoder.encode(value)


def _json_text(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value!r} cannot be sent as a JSON number")
        return format(value, "f")
    if isinstance(value, Mapping):
        return "{" + ",".join(
            f"{_json_text(str(key))}:{_json_text(item)}" for key, item in value.items()
        ) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_json_text(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
