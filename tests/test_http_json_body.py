"""`json_body`'s fast paths write exactly what the plain recursive writer wrote.

`json_body` hands plain JSON to the C encoder and JSON with `Decimal`s to a writer that
formats only the `Decimal`s in Python; everything else goes to the recursive writer it
always had (`_json_text`). That writer is the oracle: for any value, `json_body` returns
the same bytes or raises the same error. Since both writers are the code under test, known
values with their bytes written out by hand check the answer itself.
"""

from __future__ import annotations

import enum
import re
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
        # Python 3.12's `json` names the value after its message ("...: nan"); 3.11 does not.
        return (type(exc).__name__, re.sub(r"(JSON compliant): -?(nan|inf)$", r"\1", str(exc)))


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


# Each value with the bytes (or the refusal) written out by hand from the JSON grammar, so the
# properties above are not the only check: they compare two writers of the same module.
@pytest.mark.parametrize(("value", "expected"), [
    (Colour.RED, b"1"),
    (Kind.INVOICE, b'"invoice"'),
    (Cents("1.5"), b"1.5"),
    (Text("x"), b'"x"'),
    ({1, 2}, ("TypeError", "Object of type set is not JSON serializable")),
    (b"bytes", ("TypeError", "Object of type bytes is not JSON serializable")),
    (1 + 2j, ("TypeError", "Object of type complex is not JSON serializable")),
    (float("nan"), ("ValueError", "Out of range float values are not JSON compliant")),
    (float("inf"), ("ValueError", "Out of range float values are not JSON compliant")),
    (Decimal("NaN"), ("ValueError", "Decimal('NaN') cannot be sent as a JSON number")),
    (Decimal("sNaN"), ("ValueError", "Decimal('sNaN') cannot be sent as a JSON number")),
    (Decimal("-0"), b"-0"),
    (Decimal("1E+2"), b"100"),
    (Decimal("0.000"), b"0.000"),
    (Decimal("90.50"), b"90.50"),
    ("\x00\x1f\"\\", b'"\\u0000\\u001f\\"\\\\"'),
    ("ر.س", '"ر.س"'.encode()),
    ({Text("k"): 1}, b'{"overridden":1}'),
    ({1: 1}, b'{"1":1}'),
    ({2.5: 1}, b'{"2.5":1}'),
    ({Colour.RED: 1}, b'{"1":1}'),
    ({Decimal("3.10"): 1}, b'{"3.10":1}'),
    ((1, 2), b"[1,2]"),
    (Dict(a=1), b'{"a":1}'),
    (types.MappingProxyType({"a": Decimal("1.50")}), b'{"a":1.50}'),
    (12345678901234567890123, b"12345678901234567890123"),
    (1.5, b"1.5"),
    (-0.0, b"-0.0"),
    (1e300, b"1e+300"),
])
def test_known_values(value: Any, expected: bytes | tuple[str, str]) -> None:
    want = ("ok", expected) if isinstance(expected, bytes) else expected
    assert _outcome(json_body, value) == want


def _nested_text(depth: int, leaf: str) -> bytes:
    """`_nested(depth, leaf)` as JSON, built by hand: objects `{"k":...}` at even levels,
    arrays at odd ones, no spaces."""
    text = leaf
    for i in range(depth):
        text = f"[{text}]" if i % 2 else f'{{"k":{text}}}'
    return text.encode()


@pytest.mark.parametrize("depth", [0, 1, 63, 64, 65, 66, 120])
@pytest.mark.parametrize(("leaf", "text"), [(1, "1"), (Decimal("2.50"), "2.50")])
def test_nesting_around_the_fast_depth_limit_gives_the_known_text(depth: int, leaf: Any,
                                                                  text: str) -> None:
    assert json_body(_nested(depth, leaf)) == _nested_text(depth, text)


@pytest.mark.parametrize("depth", [0, 1, 63, 64, 65, 66, 120])
def test_nesting_around_the_fast_depth_limit_refuses_what_json_cannot_hold(depth: int) -> None:
    assert _outcome(json_body, _nested(depth, Decimal("NaN"))) == (
        "ValueError", "Decimal('NaN') cannot be sent as a JSON number")
    assert _outcome(json_body, _nested(depth, float("nan"))) == (
        "ValueError", "Out of range float values are not JSON compliant")


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
