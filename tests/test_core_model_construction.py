"""The model's constructors take a fast path for arguments already of their final type
(`invoicekit._fastinit`); everything else still goes through the converters.

These tests pin that the public constructors refuse what they always refused (floats,
unknown currencies, non-finite numbers, missing prices, foreign items), and that values
built on either path are the same values.
"""

from __future__ import annotations

import re
import types
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoicekit import Customer, Invoice, InvoiceKind, InvoiceStatus, LineItem, Money, errors

PRICE = Money(Decimal("130.00"), "SAR")


@pytest.mark.parametrize(("amount", "currency", "message"), [
    (1.5, "SAR", "Money amount must not be a float (1.5)"),
    (Decimal("NaN"), "SAR", "Money amount must be a finite number, got Decimal('NaN')"),
    (Decimal("Infinity"), "SAR", "must be a finite number, got Decimal('Infinity')"),
    (Decimal("sNaN"), "SAR", "must be a finite number"),
    (Decimal("1"), "XXX", "unknown currency 'XXX'"),
    (Decimal("1"), None, "currency must be a string ISO 4217 code, got NoneType"),
    (True, "SAR", "not a bool"),
])
def test_money_still_refuses(amount: Any, currency: Any, message: str) -> None:
    with pytest.raises(errors.InvalidRequest, match=message.replace("(", r"\(").replace(
            ")", r"\)")):
        Money(amount, currency)


def test_money_still_converts_what_it_converts() -> None:
    assert repr(Money("90.50", "ر.س")) == "Money('90.50', 'SAR')"
    assert repr(Money(3, " usd ")) == "Money('3', 'USD')"
    fast = Money(Decimal("90.50"), "SAR")
    assert fast == Money("90.50", "SAR")
    assert hash(fast) == hash(Money("90.50", "ر.س"))
    with pytest.raises(attrs.exceptions.FrozenInstanceError) as caught:
        fast.amount = Decimal(1)  # type: ignore[misc]  # still frozen
    # attrs' message differs by version ("can't set attribute", or none before 23.2).
    assert type(caught.value) is attrs.exceptions.FrozenInstanceError
    assert fast.amount == Decimal("90.50")


@pytest.mark.parametrize(("changes", "error", "message"), [
    ({"quantity": 1.5}, errors.InvalidRequest, "quantity must not be a float"),
    ({"quantity": Decimal("NaN")}, errors.InvalidRequest, "quantity must be a finite number"),
    ({"tax_rate": 15.0}, errors.InvalidRequest, "tax_rate must not be a float"),
    ({"tax_rate": Decimal("Infinity")}, errors.InvalidRequest, "tax_rate must be a finite number"),
    ({"unit_price": None}, TypeError, "LineItem.unit_price is required"),
    ({"unit_price": Decimal("1")}, TypeError, "expected Money or None, got Decimal"),
    ({"total": 130.0}, TypeError, "expected Money or None, got float"),
])
def test_line_item_still_refuses(changes: dict[str, Any], error: type[Exception],
                                 message: str) -> None:
    settings: dict[str, Any] = {"name": "شاحن", "quantity": Decimal(1), "unit_price": PRICE}
    settings.update(changes)
    with pytest.raises(error, match=message):
        LineItem(**settings)


def test_line_item_converts_on_the_slow_path_and_keeps_values_on_the_fast_one() -> None:
    slow = LineItem("شاحن", 2, PRICE, tax_rate="15", product_id=977135276)
    fast = LineItem("شاحن", Decimal(2), PRICE, tax_rate=Decimal("15"), product_id="977135276")
    assert slow == fast
    assert (slow.quantity, slow.tax_rate, slow.product_id) == (Decimal(2), Decimal(15),
                                                               "977135276")
    assert fast.discount is None
    assert fast.kind is None


class _Pound(Money):
    """A subclass: not the exact class the fast path knows, so it takes the converters."""


def test_invoice_still_refuses_and_converts() -> None:
    with pytest.raises(errors.InvalidRequest, match="unknown currency 'RIYAL'"):
        Invoice(id="1", provider="p", currency="RIYAL")
    with pytest.raises(TypeError, match="items must be LineItem instances, got dict"):
        Invoice(id="1", provider="p", items=({"name": "x"},))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected Money or None, got float"):
        Invoice(id="1", provider="p", total=1.5)  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidRequest, match="must be a finite number"):
        Invoice(id="1", provider="p", tax_rate=Decimal("NaN"))
    converted = Invoice(id=1128904162, provider="salla", currency="ر.س", order_id=1152394206,
                        items=[LineItem("x", Decimal(1), PRICE)], total=_Pound("1", "SAR"))
    assert (converted.id, converted.currency, converted.order_id) == (
        "1128904162", "SAR", "1152394206")
    assert type(converted.items) is tuple
    assert type(converted.total) is _Pound


def test_invoice_raw_is_a_read_only_copy_on_every_path() -> None:
    payload = {"id": 7, "note": "أ"}
    invoice = Invoice(id="7", provider="salla", kind=InvoiceKind.CREDIT_NOTE,
                      status=InvoiceStatus.ISSUED, currency="SAR", raw=payload)
    payload["note"] = "changed"
    assert isinstance(invoice.raw, types.MappingProxyType)
    assert invoice.raw == {"id": 7, "note": "أ"}
    assert Invoice(id="8", provider="p").raw == {}
    assert (invoice.kind, invoice.status) == (InvoiceKind.CREDIT_NOTE, InvoiceStatus.ISSUED)


def test_customer_id_is_text() -> None:
    assert Customer(id=42, name="Ada").id == "42"
    assert Customer(id="42").id == "42"
    assert Customer().id is None


# ---- the fast constructors against attrs' own --------------------------------------------
_AMOUNTS = [Decimal("90.50"), Decimal(0), Decimal("0E-999"), Decimal("1E-999"),
            Decimal("1E+99"), Decimal("1E+100"), Decimal("-1E-100"), Decimal("NaN"),
            Decimal("-Infinity"), 3, "12.5", 1.5, True, None]
_CURRENCIES = ["SAR", "ر.س", " usd ", "XXX", "sar", None, 1]
_TEXTS = ["1128904162", 1128904162, None]


def _outcome(build: Any) -> Any:
    try:
        made = build()
    except Exception as exc:  # the refusal itself is what is compared
        return type(exc), str(exc)
    return type(made), [(type(getattr(made, f.name)), getattr(made, f.name))
                        for f in attrs.fields(type(made))]


def _both(cls: type, *args: Any) -> tuple[Any, Any]:
    """What `cls(*args)` gives, and what attrs' own `__init__` gives for the same arguments."""
    def by_attrs() -> Any:
        made = object.__new__(cls)
        cls.__init__.__wrapped__(made, *args)  # type: ignore[misc]
        return made
    return _outcome(lambda: cls(*args)), _outcome(by_attrs)


_RANGE = ("is out of range: money has at most 100 digits before the decimal point, and is "
          "zero or at least 1E-100")


# The properties below compare the fast constructors with attrs' own, both code under test;
# this table states the answers themselves, at the edges of the fast path's checks.
@pytest.mark.parametrize(("amount", "currency", "expected"), [
    (Decimal("90.50"), "SAR", "Money('90.50', 'SAR')"),
    (Decimal("90.50"), "ر.س", "Money('90.50', 'SAR')"),
    (Decimal(0), " usd ", "Money('0', 'USD')"),
    (Decimal("0E-999"), "SAR", "Money('0E-999', 'SAR')"),   # zero at any exponent
    (Decimal("1E+99"), "SAR", "Money('1E+99', 'SAR')"),     # 100 digits: the largest
    (Decimal("-1E-100"), "SAR", "Money('-1E-100', 'SAR')"),  # the smallest non-zero
    (3, "SAR", "Money('3', 'SAR')"),
    ("12.5", "SAR", "Money('12.5', 'SAR')"),
    (Decimal("1E+100"), "SAR", f"Money amount 1E+100 {_RANGE}"),
    (Decimal("1E-999"), "SAR", f"Money amount 1E-999 {_RANGE}"),
    (Decimal("NaN"), "SAR", "Money amount must be a finite number, got Decimal('NaN')"),
    (Decimal("-Infinity"), "SAR",
     "Money amount must be a finite number, got Decimal('-Infinity')"),
    (1.5, "SAR", "Money amount must not be a float (1.5): floats cannot hold money exactly; "
     "pass Decimal('1.5') or the string '1.5'"),
    (True, "SAR", "Money amount must be a Decimal, int or numeric string, not a bool"),
    (None, "SAR", "Money amount must be a Decimal, int or numeric string, got NoneType"),
    (Decimal("90.50"), "XXX",
     "unknown currency 'XXX': expected an ISO 4217 code such as 'SAR'"),
    (Decimal("90.50"), None, "currency must be a string ISO 4217 code, got NoneType"),
    (Decimal("90.50"), 1, "currency must be a string ISO 4217 code, got int"),
])
def test_money_builds_or_refuses_the_known_values(amount: Any, currency: Any,
                                                  expected: str) -> None:
    if expected.startswith("Money("):
        assert repr(Money(amount, currency)) == expected
    else:
        with pytest.raises(errors.InvalidRequest, match=f"^{re.escape(expected)}$"):
            Money(amount, currency)


@given(st.sampled_from(_AMOUNTS), st.sampled_from(_CURRENCIES))
def test_money_builds_and_refuses_exactly_as_attrs_does(amount: Any, currency: Any) -> None:
    fast, reference = _both(Money, amount, currency)
    assert fast == reference


@given(st.sampled_from([Decimal(2), Decimal("1.5"), Decimal("NaN"), 2, 1.5, "x", None]),
       st.sampled_from([PRICE, _Pound("1", "SAR"), Decimal(1), None]),
       st.sampled_from([None, PRICE, 1.5]),
       st.sampled_from([None, Decimal(15), Decimal("Infinity"), 15.0, "15"]),
       st.sampled_from(_TEXTS))
def test_line_item_builds_and_refuses_exactly_as_attrs_does(
        quantity: Any, price: Any, total: Any, tax_rate: Any, product_id: Any) -> None:
    fast, reference = _both(LineItem, "شاحن", quantity, price, None, tax_rate, None, total,
                            "SKU", product_id, "product")
    assert fast == reference


@given(st.sampled_from(["7", 7, None]), st.sampled_from(_CURRENCIES),
       st.sampled_from(_TEXTS), st.sampled_from([(), [LineItem("x", Decimal(1), PRICE)],
                                                 ({"name": "x"},)]),
       st.sampled_from([None, PRICE, _Pound("1", "SAR"), 1.5]),
       st.sampled_from([None, Decimal(15), Decimal("NaN"), 15.0]))
def test_invoice_builds_and_refuses_exactly_as_attrs_does(
        invoice_id: Any, currency: Any, order_id: Any, items: Any, total: Any,
        tax_rate: Any) -> None:
    def args() -> list[Any]:
        values: dict[str, Any] = {f.name: (f.default if not isinstance(f.default, attrs.Factory)
                                           else f.default.factory())
                                  for f in attrs.fields(Invoice)}
        values.update(id=invoice_id, provider="salla", currency=currency, order_id=order_id,
                      items=items, total=total, subtotal=total, tax_rate=tax_rate,
                      raw={"id": invoice_id})
        return list(values.values())
    fast, reference = _both(Invoice, *args())
    if fast[0] is Invoice:  # raw is a fresh read-only copy each time: compare its content
        fast, reference = [(t, dict(v) if t is types.MappingProxyType else v)
                           for t, v in fast[1]], [(t, dict(v) if t is types.MappingProxyType
                                                   else v) for t, v in reference[1]]
    assert fast == reference
