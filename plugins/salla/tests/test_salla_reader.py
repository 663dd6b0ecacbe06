"""The one reader of Salla invoices (`_wire.to_invoice`), tested directly.

On the published examples with hand-written expected values; with hypothesis on
generated payloads that carry every documented quirk (each must read to the invoice
its generator describes); and on garbage, which must never escape as anything but
`WireFormatError` naming the field, or through a response, `ProviderUnavailable`
(`OutcomeUnknown` after a write).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoicekit import (
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    LineItem,
    Money,
    Request,
    Response,
    errors,
)
from invoicekit_salla._wire import WireFormatError, read_invoice, to_invoice, to_page
from invoicekit_salla.zatca import ZatcaQr, encode_qr

FIXTURES = Path(__file__).parent / "fixtures"
SAR = "SAR"
QR = encode_qr(ZatcaQr("سلة", "310122393500003", dt.datetime(2022, 6, 30, 9, 0, tzinfo=dt.UTC),
                       Decimal("188.30"), Decimal("24.56")))
PROPERTY = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def sar(amount: str) -> Money:
    return Money(Decimal(amount), SAR)


def fixture_data(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"), parse_float=Decimal)["data"]


# ---- the published examples ---------------------------------------------------------------
def test_details_example_reads_to_hand_written_values() -> None:
    invoice = to_invoice(fixture_data("details_200.json"))
    assert invoice == Invoice(
        id="1128904162", provider="salla", number="1", kind=InvoiceKind.INVOICE,
        status=InvoiceStatus.ISSUED, issue_date=dt.date(2022, 6, 30), currency=SAR,
        order_id="1152394206",
        items=(LineItem(name="شاحن آنكر 1000", quantity=Decimal(1), unit_price=sar("130"),
                        discount=sar("0"), tax_rate=Decimal(0), tax=sar("0"),
                        total=sar("130"), sku="PRO-001", product_id="977135276",
                        kind="product"),),
        subtotal=sar("130"), shipping=sar("23"), cash_on_delivery=sar("0"),
        discount=sar("0"), tax_rate=Decimal(0), tax=sar("0"), total=sar("153"),
        payment_method="bank", qr_code=None, pdf_url=None,
    )
    assert invoice.raw["qr_code"] == "SAVE20"


def test_create_data_example_reads_riyal_strings_and_numbers_exactly() -> None:
    invoice = to_invoice(fixture_data("create_200_data_data_type_response.json"))
    assert invoice == Invoice(
        id="1333835642", provider="salla", number="2sdfs435d", kind=InvoiceKind.INVOICE,
        status=InvoiceStatus.ISSUED, issue_date=dt.date(2022, 3, 23), currency=SAR,
        order_id="1371877152",
        items=(LineItem(name="فستان فراولة", quantity=Decimal(1), unit_price=sar("90.50"),
                        discount=sar("0.00"), tax_rate=Decimal("15.00"), tax=sar("13.58"),
                        total=sar("104.08")),),
        subtotal=sar("999"), shipping=sar("78"), cash_on_delivery=sar("789"),
        discount=sar("0"), tax_rate=Decimal(10), tax=sar("35.3"), total=sar("7789"),
    )
    assert invoice.tax is not None
    assert str(invoice.tax.amount) == "35.3"
    assert str(invoice.items[0].unit_price.amount) == "90.50"


@pytest.mark.parametrize(("name", "invoice_id", "order_id", "date"), [
    ("create_200_url_data_type_response.json", "942402683", "389701957", dt.date(2022, 12, 31)),
    ("create_200_file_data_type_response.json", "246711701", "213320125", dt.date(2022, 2, 27)),
])
def test_document_examples_read_without_amounts(name: str, invoice_id: str, order_id: str,
                                                date: dt.date) -> None:
    assert to_invoice(fixture_data(name)) == Invoice(
        id=invoice_id, provider="salla", kind=InvoiceKind.INVOICE, status=InvoiceStatus.ISSUED,
        issue_date=date, currency=SAR, order_id=order_id,
        pdf_url="https://i.ibb.co/jyqRQfQ/invoice.pdf")


# ---- issue 13, item 7: commas in amounts ----------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("1,234.50", Decimal("1234.50")), ("1,234,567", Decimal("1234567")),
    ("12,345,678.9", Decimal("12345678.9")), (" 1,234.50 ", Decimal("1234.50")),
    ("90.50", Decimal("90.50")), ("-3", Decimal(-3)), (".5", Decimal("0.5")),
])
def test_issue13_only_unambiguous_thousands_groupings_are_read(text: str,
                                                               expected: Decimal) -> None:
    invoice = to_invoice({"id": 1, "total": {"amount": text, "currency": SAR}})
    assert invoice.total == Money(expected, SAR)


@pytest.mark.parametrize("text", [
    "90,50", "1,2,3", ",5", "1,234", "1,23.5", "1234,567.00", "1,,234.00", "1,234.5,6",
    "9,0.5", "1_000", "1e3", "NaN", "Infinity", "١٢٣", "", " ", "12 34",
])
def test_issue13_other_commas_and_spellings_are_a_typed_error_naming_the_field(text: str) -> None:
    payload = {"id": 1, "items": [{"name": "x", "price": {"amount": 1}} for _ in range(3)]
               + [{"name": "y", "price": {"amount": text, "currency": SAR}}]}
    with pytest.raises(WireFormatError) as caught:
        to_invoice(payload)
    assert caught.value.path == "items[3].price.amount"
    assert str(caught.value) == f"items[3].price.amount: {text!r} is not an amount"


def test_issue13_comma_amount_in_an_answer_is_provider_unavailable_naming_the_field() -> None:
    body = {"status": 200, "success": True,
            "data": {"id": 1, "items": [{"name": "x", "price": {"amount": "90,50"}}]}}
    response = _response("GET", body)
    with pytest.raises(errors.ProviderUnavailable) as caught:
        read_invoice(response)
    assert not isinstance(caught.value, errors.OutcomeUnknown)
    assert "items[0].price.amount: '90,50' is not an amount" in str(caught.value)
    created = _response("POST", body)
    with pytest.raises(errors.OutcomeUnknown) as unknown:
        read_invoice(created)
    assert "items[0].price.amount: '90,50' is not an amount" in str(unknown.value)


# ---- faults name their field ----------------------------------------------------------------
@pytest.mark.parametrize(("payload", "message"), [
    ([], "expected an invoice object, got a list"),
    ({}, "id: missing: an invoice needs an id"),
    ({"id": True}, "id: expected a string or an integer, got a boolean"),
    ({"id": 1.5}, "id: expected a string or an integer, got a float"),
    ({"id": 1, "total": {"amount": 188.3}},
     "total.amount: 188.3 is a binary float, not an exact amount"),
    ({"id": 1, "total": {"amount": Decimal("NaN")}},
     "total.amount: Decimal('NaN') is not a finite number"),
    ({"id": 1, "total": {"amount": True}},
     "total.amount: expected a number or a numeric string, got a boolean"),
    ({"id": 1, "total": {"currency": SAR}}, "total.amount: missing"),
    ({"id": 1, "total": {"amount": None}},
     "total.amount: expected a number or a numeric string, got null"),
    ({"id": 1, "total": "188.30"}, "total: expected an amount object, got a string"),
    ({"id": 1, "total": {"amount": 1, "currency": "XYZ"}},
     "total.currency: unknown currency 'XYZ': expected an ISO 4217 code such as 'SAR'"),
    ({"id": 1, "cod_cost": {"amount": 1, "currency": 0}},
     "cod_cost.currency: expected a currency code, got int"),
    ({"id": 1, "subtotal": {"amount": "x"}}, "subtotal.amount: 'x' is not an amount"),
    ({"id": 1, "tax": 15}, "tax: expected a tax object, got int"),
    ({"id": 1, "tax": {"percent": "fifteen"}}, "tax.percent: 'fifteen' is not an amount"),
    ({"id": 1, "date": "yesterday"}, "date: 'yesterday' is not a YYYY-MM-DD date"),
    ({"id": 1, "date": 20220630}, "date: expected a YYYY-MM-DD date, got int"),
    ({"id": 1, "items": "nope"}, "items: expected a list of items, got a string"),
    ({"id": 1, "items": None}, "items: expected a list of items, got null"),
    ({"id": 1, "items": [None]}, "items[0]: expected an item object, got null"),
    ({"id": 1, "items": [{"name": "x"}]}, "items[0].price: missing: an item needs a price"),
    ({"id": 1, "items": [{"price": {"amount": 1}}]},
     "items[0].name: missing: an item needs a name"),
    ({"id": 1, "items": [{"name": "x", "price": {"amount": 1}, "quantity": None}]},
     "items[0].quantity: expected a number or a numeric string, got null"),
    ({"id": 1, "items": [{"name": "x", "price": {"amount": 1}},
                         {"name": "y", "price": {"amount": 1},
                          "tax": {"amount": {"amount": "?"}}}]},
     "items[1].tax.amount.amount: '?' is not an amount"),
    ({"id": 1, "items": [{"name": "x", "price": {"amount": 1}, "sku": ["a"]}]},
     "items[0].sku: expected a string or an integer, got a list"),
    ({"id": 1, "qr_code": {"x": 1}}, "qr_code: expected a string or an integer, got an object"),
])
def test_faults_raise_wire_format_error_naming_the_field(payload: Any, message: str) -> None:
    with pytest.raises(WireFormatError) as caught:
        to_invoice(payload)
    assert str(caught.value) == message


def test_list_entry_faults_name_the_entry() -> None:
    entries = [{"id": 1}, {"id": 2, "items": [{"name": "x", "price": {"amount": "1,2"}}]}]
    response = _response("GET", {"status": 200, "success": True, "data": entries})
    with pytest.raises(errors.ProviderUnavailable) as caught:
        to_page(response)
    assert "data[1].items[0].price.amount: '1,2' is not an amount" in str(caught.value)


def _response(method: str, body: Any) -> Response:
    content = json.dumps(body, default=str, ensure_ascii=False).encode()
    return Response(200, {"content-type": "application/json"}, content,
                    Request(method, "/orders/invoices"), "salla")


# ---- generated quirky-but-valid payloads ----------------------------------------------------
_DROP = object()


@attrs.frozen
class Amount:
    """An amount as the generator means it, and how it is written on the wire."""

    value: Decimal
    wire: dict[str, Any]


def _wire_numbers(value: Decimal) -> st.SearchStrategy[Any]:
    """Every spelling of *value* Salla may send."""
    spellings: list[Any] = [value, f"{value}", f" {value} "]
    if value == value.to_integral_value():
        spellings.append(int(value))
    exponent = value.as_tuple().exponent
    if abs(value) >= 1000 and isinstance(exponent, int) and exponent < 0:
        spellings.append(f"{value:,}")                      # 1,234.50
    if abs(value) >= 1_000_000 and value == value.to_integral_value():
        spellings.append(f"{int(value):,}")                 # 1,234,567
    return st.sampled_from(spellings)


_values = st.one_of(
    st.decimals(min_value=0, max_value=10**4, places=2),
    st.decimals(min_value=10**3, max_value=10**9, places=2),
    st.integers(0, 10**10).map(Decimal),
)


@st.composite
def amounts(draw: st.DrawFn) -> Amount:
    value = draw(_values)
    wire: dict[str, Any] = {"amount": draw(_wire_numbers(value))}
    currency = draw(st.sampled_from(["SAR", "ر.س", "", " sar ", _DROP, None]))
    if currency is not _DROP:
        wire["currency"] = currency
    if draw(st.booleans()):
        wire["taxable"] = draw(st.sampled_from([True, False, 0, 1]))
    return Amount(value, wire)


def _text_or_number(value: int) -> st.SearchStrategy[Any]:
    return st.sampled_from([value, str(value)])


@st.composite
def items(draw: st.DrawFn) -> tuple[LineItem, dict[str, Any]]:
    name = draw(st.text(min_size=1, max_size=10))
    price = draw(amounts())
    wire: dict[str, Any] = {"name": name, "price": price.wire}
    quantity = draw(st.integers(1, 50))
    if quantity != 1 or draw(st.booleans()):
        wire["quantity"] = draw(_wire_numbers(Decimal(quantity)))
    for key in ("id", "item_id"):
        if draw(st.booleans()):
            wire[key] = draw(_text_or_number(draw(st.integers(1, 10**10))))
    product = draw(st.one_of(st.none(), st.integers(1, 10**9)))
    if product is not None:
        wire["product_id"] = draw(_text_or_number(product))
    total = draw(st.one_of(st.none(), amounts()))
    if total is not None:
        wire["total"] = total.wire
    tax = draw(st.one_of(st.none(), amounts()))
    rate = draw(st.sampled_from([Decimal(15), Decimal("15.00"), Decimal(0)]))
    if tax is not None:
        wire["tax"] = {"percent": draw(_wire_numbers(rate)), "amount": tax.wire}
    expected = LineItem(
        name=name, quantity=Decimal(quantity), unit_price=Money(price.value, SAR),
        total=Money(total.value, SAR) if total is not None else None,
        tax_rate=rate if tax is not None else None,
        tax=Money(tax.value, SAR) if tax is not None else None,
        product_id=str(product) if product is not None else None,
    )
    return expected, wire


_LABELS = {"Tax Invoice": InvoiceKind.INVOICE, "tax_invoice": InvoiceKind.INVOICE,
           "Credit Note": InvoiceKind.CREDIT_NOTE, "credit_note": InvoiceKind.CREDIT_NOTE,
           "إشعار دائن": InvoiceKind.CREDIT_NOTE, "Simplified Tax Invoice": InvoiceKind.INVOICE}


@st.composite
def invoices(draw: st.DrawFn) -> tuple[Invoice, dict[str, Any]]:
    invoice_id = draw(st.integers(1, 10**12))
    wire: dict[str, Any] = {"id": draw(_text_or_number(invoice_id))}
    order_id = draw(st.one_of(st.none(), st.integers(1, 10**12)))
    if order_id is not None:
        wire["order_id"] = draw(_text_or_number(order_id))
    number = draw(st.one_of(st.none(), st.text(min_size=1, max_size=8)))
    if number is not None or draw(st.booleans()):
        wire["invoice_number"] = number  # list entries may leave it out, or send null
    label = draw(st.one_of(st.none(), st.sampled_from(sorted(_LABELS))))
    if label is not None:
        wire["type"] = label
    for key in ("uuid", "invoice_reference_id"):
        if draw(st.booleans()):
            wire[key] = draw(st.one_of(st.none(), st.text(max_size=8)))
    date = draw(st.one_of(st.none(), st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1))))
    if date is not None:
        wire["date"] = draw(st.sampled_from([date.isoformat(), f"{date.isoformat()}T10:00:00Z"]))
    elif draw(st.booleans()):
        wire["date"] = draw(st.sampled_from(["", None]))
    qr = draw(st.sampled_from([QR, f" {QR}", "SAVE20", "", None, _DROP]))
    if qr is not _DROP:
        wire["qr_code"] = qr
    money: dict[str, Amount | None] = {}
    for key in ("sub_total", "shipping_cost", "cod_cost", "discount", "total"):
        money[key] = draw(st.one_of(st.none(), amounts()))
        if money[key] is not None:
            wire[key] = money[key].wire  # type: ignore[union-attr]
    if money["sub_total"] is not None and draw(st.booleans()):
        wire["subtotal"] = wire.pop("sub_total")  # the schema's spelling
    tax = draw(st.one_of(st.none(), amounts()))
    if tax is not None:
        wire["tax"] = {"percent": draw(_wire_numbers(Decimal(15))), "amount": tax.wire}
    drawn = draw(st.lists(items(), max_size=3))
    send_empty: bool = draw(st.booleans())
    if drawn or send_empty:
        wire["items"] = [w for _, w in drawn]
    if draw(st.booleans()):
        wire["brand_new_field"] = {"nested": [1, 2]}

    def m(key: str) -> Money | None:
        a = money[key]
        return Money(a.value, SAR) if a is not None else None

    expected = Invoice(
        id=str(invoice_id), provider="salla", number=number,
        kind=_LABELS[label] if label is not None else InvoiceKind.INVOICE,
        status=InvoiceStatus.ISSUED, issue_date=date, currency=SAR,
        order_id=str(order_id) if order_id is not None else None,
        items=tuple(e for e, _ in drawn), subtotal=m("sub_total"), shipping=m("shipping_cost"),
        cash_on_delivery=m("cod_cost"), discount=m("discount"), total=m("total"),
        tax_rate=Decimal(15) if tax is not None else None,
        tax=Money(tax.value, SAR) if tax is not None else None,
        qr_code=qr if qr in (QR, f" {QR}") else None,  # a readable code is kept as sent
    )
    return expected, wire


@PROPERTY
@given(case=invoices())
def test_generated_quirky_payloads_read_to_the_invoice_they_describe(
        case: tuple[Invoice, dict[str, Any]]) -> None:
    expected, wire = case
    invoice = to_invoice(wire)
    assert invoice == expected
    assert dict(invoice.raw) == wire
    # Through a response, too: the same invoice from the JSON text Salla would send.
    body = {"status": 200, "success": True, "data": wire}
    assert read_invoice(_response("GET", body)).total == expected.total


# ---- garbage --------------------------------------------------------------------------------
_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.text(max_size=6),
              st.decimals(allow_nan=True, allow_infinity=True),
              st.floats(allow_nan=True, allow_infinity=True),
              st.sampled_from(["90,50", "1,2,3", ",5", "1,234.50", "NaN", "1e999", "ر.س"])),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.sampled_from(
                                   ["amount", "currency", "percent", "name", "price", "x"]),
                                   children, max_size=3)),
    max_leaves=8,
)
_FIELDS = ["id", "order_id", "invoice_number", "type", "date", "qr_code", "url",
           "payment_method", "sub_total", "subtotal", "shipping_cost", "cod_cost", "discount",
           "tax", "total", "items"]
_ITEM_FIELDS = ["name", "quantity", "price", "discount", "tax", "total", "sku", "product_id",
                "type"]


@PROPERTY
@given(case=invoices(), field=st.sampled_from(_FIELDS), item_field=st.sampled_from(_ITEM_FIELDS),
       garbage=_json, in_item=st.booleans())
def test_garbage_never_escapes_as_anything_but_the_typed_error(
        case: tuple[Invoice, dict[str, Any]], field: str, item_field: str, garbage: Any,
        in_item: bool) -> None:
    _, wire = case
    if in_item and wire.get("items"):
        wire["items"][-1][item_field] = garbage
        where = f"items[{len(wire['items']) - 1}]"
    else:
        wire[field] = garbage
        where = field
    fault: WireFormatError | None = None
    try:
        invoice: Invoice | None = to_invoice(wire)
    except WireFormatError as exc:
        fault, invoice = exc, None
    if fault is None:
        assert isinstance(invoice, Invoice)
        return
    assert str(fault).startswith(fault.path)
    # The path names the damaged field (or the currency of the invoice, which any amount
    # may carry), and through a response the same fault is `ProviderUnavailable`.
    assert fault.path.startswith(where) or fault.path.endswith(".currency")
    body = json.dumps({"status": 200, "success": True, "data": wire}, default=str).encode()
    if json.loads(body, parse_float=Decimal)["data"] != wire:
        return  # a float or a Decimal NaN has no JSON spelling of its own
    with pytest.raises(errors.ProviderUnavailable,
                       match="^salla HTTP 200: Salla sent an unreadable invoice: "
                             + re.escape(fault.path)):
        read_invoice(Response(200, {"content-type": "application/json"}, body,
                              Request("GET", "/orders/invoices/1"), "salla"))
