"""`json_body`'s fast paths write exactly what the plain recursive writer wrote.

`json_body` hands plain JSON to the C encoder and JSON with `Decimal`s to a writer that
formats only the `Decimal`s in Python; everything else goes to the recursive writer it
always had (`_json_text`). That writer is the oracle: for any value, `json_body` returns
the same bytes or raises the same error.
"""

from __future__ import annotations

import enum
import types
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoicekit._json import _json_text, json_body

PROPERTY = settings(max_examples=400, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _reference(value: Any) -> bytes:
    """The plain recursive writer `json_body` falls back to (the oracle)."""
    return _json_text(value).encode("utf-8")


class Colour(enum.IntEnum):
    RED = 1


class Kind(enum.StrEnum):
    INVOICE = "invoice"


class Dict(dict[Any, Any]):
    pass


class Cents(Decimal):
    pass


class Text(str):
    def __str__(self) -> str:
        return "overridden"


def _outcome(fn: Any, value: Any) -> tuple[str, Any]:
    try:
        return ("ok", fn(value))
    except Exception as exc:
        return (type(exc).__name__, str(exc))


decimals = (st.decimals(allow_nan=True, allow_infinity=True) | st.decimals(places=2)
            | st.sampled_from([Decimal("90.50"), Decimal("1E+2"), Decimal("-0"),
                               Decimal("0.000"), Decimal("sNaN")]))
plain_leaves = (st.none() | st.booleans() | st.integers() | st.floats()
                | st.text() | st.sampled_from(["ر.س", "شاحن\u200fآنكر", "\x00\x1f\"\\", "\ud800"]))
odd_leaves = st.sampled_from([Colour.RED, Kind.INVOICE, Cents("1.5"), Text("x"), object(),
                              {1, 2}, b"bytes", 1 + 2j])
keys = st.text(max_size=6) | st.sampled_from([Text("k"), 1, True, None, 2.5, Colour.RED,
                                             Decimal("3.10")])


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return (st.lists(inner, max_size=4) | st.lists(inner, max_size=4).map(tuple)
            | st.dictionaries(st.text(max_size=6), inner, max_size=4)
            | st.dictionaries(keys, inner, max_size=3)
            | st.dictionaries(st.text(max_size=6), inner, max_size=3).map(Dict)
            | st.dictionaries(st.text(max_size=6), inner, max_size=3).map(types.MappingProxyType))


plain_json = st.recursive(plain_leaves, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                          max_leaves=20)
with_decimals = st.recursive(plain_leaves | decimals, lambda inner: st.lists(inner, max_size=4)
                             | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                             max_leaves=20)
anything = st.recursive(plain_leaves | decimals | odd_leaves, _containers, max_leaves=20)


@PROPERTY
@given(plain_json)
def test_plain_json_is_written_as_before(value: Any) -> None:
    assert _outcome(json_body, value) == _outcome(_reference, value)


@PROPERTY
@given(with_decimals)
def test_json_with_decimals_is_written_as_before(value: Any) -> None:
    assert _outcome(json_body, value) == _outcome(_reference, value)


@PROPERTY
@given(anything)
def test_any_value_is_written_or_refused_as_before(value: Any) -> None:
    assert _outcome(json_body, value) == _outcome(_reference, value)


def _nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


@pytest.mark.parametrize("depth", [0, 1, 63, 64, 65, 66, 120])
@pytest.mark.parametrize("leaf", [1, Decimal("2.50"), float("nan"), Decimal("NaN"), object()])
def test_nesting_around_the_fast_depth_limit(depth: int, leaf: Any) -> None:
    value = _nested(depth, leaf)
    assert _outcome(json_body, value) == _outcome(_reference, value)


def test_a_cycle_is_refused_as_before() -> None:
    value: dict[str, Any] = {"a": [1]}
    value["a"].append(value)
    got, want = _outcome(json_body, value), _outcome(_reference, value)
    assert got[0] == want[0] == "RecursionError"


def test_known_bodies() -> None:
    assert json_body({"customer_id": "c", "line_items": [{"quantity": 2, "unit_price": 12550}],
                      "description": "شاحن"}) == (
        '{"customer_id":"c","line_items":[{"quantity":2,"unit_price":12550}],'
        '"description":"شاحن"}').encode()
    assert json_body({"total": Decimal("175.95"), "tax": Decimal("15"), "n": None}) == (
        b'{"total":175.95,"tax":15,"n":null}')
    assert json_body({True: 1, None: 2}) == b'{"True":1,"None":2}'  # as it always was
