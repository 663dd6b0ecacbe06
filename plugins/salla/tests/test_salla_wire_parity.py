"""The fast reader and the cattrs reference reading of a Salla invoice agree.

`to_invoice` reads a well-formed payload straight into the domain model and falls back to
the cattrs wire classes for anything else. These tests run both on every published
example and on generated variants (numbers and numeric strings, `sub_total`/`subtotal`,
"ر.س", missing fields, placeholder QR codes, labels and enum values, and broken values):
whenever the fast reader accepts a payload, the reference gives the same `Invoice` (same
`repr`, so the same `Decimal` digits, and the same `raw`); whenever it declines, the
reference decides, with its own typed error.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoicekit import Invoice, InvoiceKind, LineItem, Money, Response, errors
from invoicekit_salla import SallaProvider
from invoicekit_salla._wire import (
    WireFormatError,
    _fast_invoice,
    _reference_invoice,
    to_invoice,
)
from invoicekit_salla.zatca import ZatcaQr, encode_qr

FIXTURES = Path(__file__).parent / "fixtures"
QR = encode_qr(ZatcaQr("سلة", "310122393500003", dt.datetime(2022, 6, 30, 9, 0, tzinfo=dt.UTC),
                       Decimal("188.30"), Decimal("24.56")))
PROPERTY = settings(max_examples=200, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _outcome(read: Any, payload: Any) -> Invoice | WireFormatError:
    try:
        result = read(payload)
    except WireFormatError as exc:
        return exc
    assert isinstance(result, Invoice)
    return result


def _same(a: Invoice, b: Invoice) -> None:
    assert a == b
    assert repr(a) == repr(b), "the same Decimal digits, not only equal values"
    assert dict(a.raw) == dict(b.raw)


def check_parity(payload: Any) -> Invoice | None:
    """Both readings of *payload* agree; returns the fast reader's invoice (or `None`)."""
    fast = _fast_invoice(payload) if type(payload) is dict else None
    reference = _outcome(_reference_invoice, copy.deepcopy(payload))
    if fast is not None:
        assert isinstance(reference, Invoice), f"fast accepted what the reference refuses: " \
                                               f"{reference}"
        _same(fast, reference)
    result = _outcome(to_invoice, payload)
    if isinstance(reference, WireFormatError):
        assert isinstance(result, WireFormatError)
        assert str(result) == str(reference)
    else:
        assert isinstance(result, Invoice)
        _same(result, reference)
    return fast


def _invoices_in(body: Any) -> list[Any]:
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, list):
        return [body, *data]
    return [body] if data is None else [body, data]


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.json")))
def test_every_fixture_reads_the_same_both_ways(name: str) -> None:
    body = json.loads((FIXTURES / name).read_text(encoding="utf-8"), parse_float=Decimal)
    payloads = _invoices_in(body)
    assert payloads
    for payload in payloads:
        check_parity(payload)


def test_the_published_examples_take_the_fast_path() -> None:
    """The parity above is not vacuous: Salla's own examples are read by the fast reader."""
    accepted = []
    for path in sorted(FIXTURES.glob("*_200*.json")):
        data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)["data"]
        if isinstance(data, dict) and "id" in data:
            accepted.append(check_parity(data))
    assert accepted
    assert all(invoice is not None for invoice in accepted)


# ---- the common variants are read fast, and identically ---------------------------------
BASE: dict[str, Any] = {
    "id": 1128904162, "invoice_number": "1", "uuid": "acde070d", "order_id": 1152394206,
    "invoice_reference_id": "1233", "type": "Tax Invoice", "date": "2022-06-30",
    "qr_code": "SAVE20", "payment_method": "bank",
    "sub_total": {"amount": 130, "currency": "SAR"},
    "shipping_cost": {"amount": 23, "taxable": True, "currency": "SAR"},
    "cod_cost": {"amount": 0, "taxable": True, "currency": "SAR"},
    "discount": {"amount": "0.00", "currency": "SAR"},
    "tax": {"percent": 15, "amount": {"amount": Decimal("35.3"), "currency": "SAR"}},
    "total": {"amount": "188.30", "currency": "ر.س"},
    "items": [{"id": 1670203268, "product_id": "977135276", "item_id": 588287185,
               "name": "شاحن آنكر", "sku": "PRO-001", "quantity": 1, "type": "product",
               "price": {"amount": "130", "currency": "SAR"},
               "discount": {"amount": 0, "currency": "SAR"},
               "tax": {"percent": "15", "amount": {"amount": "19.50", "currency": "SAR"}},
               "total": {"amount": Decimal("130.00"), "currency": "ر.س"}}],
}


def _variant(**changes: Any) -> dict[str, Any]:
    payload = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is _DROP:
            payload.pop(key, None)
        else:
            payload[key] = value
    return payload


_DROP = object()


@pytest.mark.parametrize("payload", [
    _variant(),
    _variant(sub_total=_DROP, subtotal={"amount": "130.00", "currency": "SAR"}),
    _variant(qr_code=None), _variant(qr_code=QR), _variant(qr_code=""),
    _variant(type="credit_note"), _variant(type="إشعار دائن"), _variant(type=_DROP),
    _variant(invoice_number=_DROP, uuid=_DROP, qr_code=_DROP, date=""),
    _variant(total={"amount": 5}, sub_total={"amount": "5", "currency": ""}),
    _variant(items=[]), _variant(items=_DROP), _variant(id="INV-1", order_id="77"),
    _variant(total={"amount": " 188.30 ", "currency": "SAR"}),
    _variant(total={"amount": "1_000", "currency": "USD"}, sub_total=_DROP,
             shipping_cost=_DROP, items=[]),
], ids=lambda p: ",".join(sorted(set(p) ^ set(BASE))) or "base")
def test_common_variants_are_read_fast_and_identically(payload: dict[str, Any]) -> None:
    assert check_parity(payload) is not None


@pytest.mark.parametrize("payload", [
    _variant(total={"amount": 188.3, "currency": "SAR"}),  # a binary float: reference only
    _variant(total={"amount": "1,188.30", "currency": "SAR"}),  # a thousands comma
    _variant(cod_cost={"amount": 0, "taxable": 1}),  # PHP's 1 for true
    _variant(subtotal={"amount": 1}),  # both spellings
    _variant(items=[{"name": "x", "price": {"amount": 1}, "quantity": 2.0}]),  # a float
])
def test_quirks_fall_back_and_are_still_read(payload: dict[str, Any]) -> None:
    assert check_parity(payload) is None
    assert isinstance(to_invoice(payload), Invoice)


@pytest.mark.parametrize("payload", [
    {}, {"id": None}, {"id": True}, {"id": 1.5}, {"id": [1]},
    _variant(total={"amount": "NaN", "currency": "SAR"}),
    _variant(total={"amount": "abc"}), _variant(total={"currency": "SAR"}),
    _variant(total={"amount": True}), _variant(total={"amount": 1, "currency": "XYZ"}),
    _variant(total={"amount": 1, "currency": 0}), _variant(total="188.30"),
    _variant(cod_cost={"amount": 0, "taxable": "yes"}), _variant(uuid=["x"]),
    _variant(date="yesterday"), _variant(date=20220630), _variant(items=None),
    _variant(items="nope"), _variant(items=[{"name": "x"}]), _variant(items=[None]),
    _variant(items=[{"name": None, "price": {"amount": 1}}]),
    _variant(items=[{"name": "x", "price": {"amount": 1}, "quantity": None}]),
    _variant(items=[{"name": "x", "price": {"amount": 1}, "item_id": {"id": 1}}]),
    _variant(tax={"percent": "fifteen"}), _variant(tax=15),
])
def test_malformed_payloads_give_the_reference_error(payload: dict[str, Any]) -> None:
    assert check_parity(payload) is None
    with pytest.raises(WireFormatError) as caught:
        to_invoice(payload)
    assert str(caught.value).strip()


@pytest.mark.parametrize("payload", [
    _variant(total={"amount": "NaN", "currency": "SAR"}), _variant(items=[{"name": "x"}]),
    _variant(date="yesterday"), _variant(total={"amount": 1, "currency": "XYZ"}),
])
def test_malformed_answer_is_the_same_typed_error(provider: SallaProvider,
                                                  payload: dict[str, Any]) -> None:
    op = provider.get_invoice("1")
    request = next(op)
    body = json.dumps({"status": 200, "success": True, "data": payload}, default=str,
                      ensure_ascii=False).encode()
    with pytest.raises(errors.ProviderUnavailable) as caught:
        op.send(Response(200, {"content-type": "application/json"}, body, request, "salla"))
    reference = _outcome(_reference_invoice,
                         json.loads(body, parse_float=Decimal)["data"])
    assert isinstance(reference, WireFormatError)
    assert str(reference) in str(caught.value)


# ---- generated variants ------------------------------------------------------------------
_decimals = st.decimals(allow_nan=False, allow_infinity=False, places=2,
                        min_value=-10**9, max_value=10**9)
_good_amounts = st.one_of(
    st.integers(-10**12, 10**12), _decimals,
    _decimals.map(str), _decimals.map(lambda d: f"  {d} "),
    st.integers(0, 10**6).map(lambda i: f"{i:_}"),
)
_odd_amounts = st.one_of(
    st.floats(allow_nan=True), st.booleans(), st.none(), st.just("NaN"), st.just("-Infinity"),
    st.just("1,234.50"), st.just("١٢٣"), st.text(max_size=4), st.just([1]), st.just({"a": 1}),
    st.decimals(allow_nan=True, allow_infinity=True),
)
_amount_values = st.one_of(_good_amounts, _good_amounts, _good_amounts, _odd_amounts)
_currencies = st.one_of(
    st.sampled_from(["SAR", "ر.س", "", "USD", "sar", " SAR ", "ر.س.", "XYZ", "\u20c1"]),
    st.just(_DROP), st.none(), st.integers(0, 2), st.booleans(),
)
_texts = st.one_of(st.text(max_size=6), st.integers(-5, 10**10), st.none(), st.just(_DROP),
                   st.booleans(), st.floats(allow_nan=False), st.just(["x"]))
_labels = st.one_of(
    st.sampled_from(["Tax Invoice", "tax_invoice", "Credit Note", "credit_note", "Credit-Note",
                     "إشعار دائن", "Simplified Tax Invoice", ""]),
    _texts,
)
_qr_codes = st.one_of(st.sampled_from([QR, f" {QR}\n", "SAVE20", "", "AQ==", "AQID", QR[:-8]]),
                      _texts)
_dates = st.one_of(st.sampled_from(["2022-06-30", "", " 2022-06-30 ", "2022-06-30T10:00:00Z",
                                    "2022-02-30", "30/06/2022"]), _texts)


def _fields(**strategies: Any) -> st.SearchStrategy[dict[str, Any]]:
    """A dict whose keys may be missing (`_DROP`)."""
    return st.fixed_dictionaries(strategies).map(
        lambda d: {k: v for k, v in d.items() if v is not _DROP})


_amounts = st.one_of(
    _fields(amount=st.one_of(_amount_values, st.just(_DROP)), currency=_currencies,
            taxable=st.one_of(st.just(_DROP), st.booleans(), st.sampled_from([0, 1, "yes"]),
                              st.none())),
    st.none(), st.just(_DROP), st.just("12.50"),
)
_taxes = st.one_of(_fields(percent=st.one_of(_amount_values, st.just(_DROP)), amount=_amounts),
                   st.none(), st.just(_DROP), st.just(15))
_items = _fields(
    name=st.one_of(st.text(min_size=1, max_size=8), st.integers(0, 99), st.none(), st.just(_DROP)),
    quantity=st.one_of(st.just(_DROP), st.integers(0, 9), _decimals.map(str), _odd_amounts),
    id=_texts, item_id=_texts, product_id=_texts, sku=_texts, type=_texts,
    price=st.one_of(_amounts, _amounts, _amounts, st.just(_DROP)),
    discount=_amounts, tax=_taxes, total=_amounts,
)
_payloads = _fields(
    id=st.one_of(st.integers(0, 10**10), st.text(min_size=1, max_size=8), _texts),
    order_id=_texts, type=_labels, invoice_number=_texts, uuid=_texts,
    invoice_reference_id=_texts, date=_dates, qr_code=_qr_codes, payment_method=_texts,
    url=_texts, sub_total=_amounts, subtotal=st.one_of(st.just(_DROP), st.just(_DROP), _amounts),
    shipping_cost=_amounts, cod_cost=_amounts, discount=_amounts, tax=_taxes, total=_amounts,
    items=st.one_of(st.lists(_items, max_size=3), st.just(_DROP), st.none(), st.just("x")),
    extra=st.one_of(st.just(_DROP), st.dictionaries(st.text(max_size=3), st.integers())),
)


@PROPERTY
@given(payload=_payloads)
def test_generated_payloads_read_the_same_both_ways(payload: dict[str, Any]) -> None:
    check_parity(payload)


_clean_amounts = _fields(amount=_good_amounts,
                         currency=st.sampled_from(["SAR", "ر.س", "", _DROP, None]),
                         taxable=st.sampled_from([_DROP, True, False, None]))
_clean_items = _fields(
    name=st.text(min_size=1, max_size=8), quantity=st.one_of(st.just(_DROP), _good_amounts),
    id=st.integers(0, 10**10), product_id=st.one_of(st.text(max_size=5), st.integers(0, 99)),
    sku=st.one_of(st.text(max_size=5), st.none()), type=st.sampled_from(["product", _DROP]),
    price=_clean_amounts, discount=st.one_of(_clean_amounts, st.none()),
    tax=st.one_of(_fields(percent=_good_amounts, amount=_clean_amounts), st.just(_DROP)),
    total=st.one_of(_clean_amounts, st.just(_DROP)),
)
_clean_payloads = _fields(
    id=st.one_of(st.integers(0, 10**10), st.text(min_size=1, max_size=8)),
    order_id=st.one_of(st.integers(0, 10**10), st.just(_DROP)),
    type=st.sampled_from(["Tax Invoice", "tax_invoice", "Credit Note", "credit_note", _DROP]),
    date=st.sampled_from(["2022-06-30", "", _DROP, None]),
    qr_code=st.sampled_from([QR, "SAVE20", None, _DROP]),
    sub_total=st.one_of(_clean_amounts, st.just(_DROP)), total=_clean_amounts,
    tax=st.one_of(_fields(percent=_good_amounts, amount=_clean_amounts), st.just(_DROP)),
    items=st.lists(_clean_items, max_size=3),
)


@PROPERTY
@given(payload=_clean_payloads)
def test_well_formed_payloads_take_the_fast_path(payload: dict[str, Any]) -> None:
    """Every well-formed variant (numbers or numeric strings, either currency spelling,
    optional fields present or not) is read by the fast reader, identically."""
    invoice = check_parity(payload)
    assert invoice is not None
    assert invoice.currency == "SAR"
    assert invoice.kind in (InvoiceKind.INVOICE, InvoiceKind.CREDIT_NOTE)


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"),
                                   Decimal("-Infinity")])
def test_the_model_refuses_what_the_fast_reader_leaves_to_it(value: Decimal) -> None:
    """The fast reader hands `Decimal("NaN")` (from the string "NaN") to the model, whose
    converters check finiteness even on their fast path for a `Decimal`."""
    price = Money("1", "SAR")
    with pytest.raises(errors.InvalidRequest):
        Money(value, "SAR")
    with pytest.raises(errors.InvalidRequest):
        LineItem(name="x", quantity=value, unit_price=price)
    with pytest.raises(errors.InvalidRequest):
        LineItem(name="x", quantity=1, unit_price=price, tax_rate=value)
    assert LineItem(name="x", quantity=Decimal("2.50"), unit_price=price,
                    tax_rate=Decimal("15")).quantity == Decimal("2.50")
