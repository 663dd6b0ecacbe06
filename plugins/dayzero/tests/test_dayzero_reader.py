"""DayZero's one reader (`_wire.to_invoice` and the response readers around it) and its one
writer (`_wire.invoice_body`), tested directly: the published-shape fixtures with
hand-written expected values, then generated payloads and drafts (hypothesis)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from dayzero_support import CUSTOMER_ID, INVOICE_ID, load_fixture, make_draft
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoicekit import (
    Customer,
    Invoice,
    InvoiceDraft,
    InvoiceKind,
    InvoiceStatus,
    LineItem,
    Money,
    Request,
    Response,
    errors,
)
from invoicekit_dayzero import _rules, _wire

PROPERTY = settings(max_examples=200, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def response(data: Any, method: str = "GET", status: int = 200) -> Response:
    return Response(status=status, headers={"content-type": "application/json"},
                    content=json.dumps(data, ensure_ascii=False).encode(),
                    request=Request(method, "/invoices"), provider="dayzero")


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


# ---- the fixtures, with hand-written expected values ------------------------------------
def test_invoice_fixture() -> None:
    invoice = _wire.parse_invoice(response(load_fixture("invoice_200.json")))
    assert invoice == Invoice(
        id="3fa85f64-5717-4562-b3fc-2c963f66afa6", provider="dayzero", number="INV-001",
        kind=InvoiceKind.INVOICE, status=InvoiceStatus.OPEN, provider_status="open",
        issue_date=dt.date(2031, 1, 1), due_date=dt.date(2031, 1, 31), currency="USD",
        customer=Customer(id="8c2d5e71-3b4a-4f69-9e0d-1a2b3c4d5e6f", name="Ada Lovelace",
                          email="ada@example.com"),
        items=(
            LineItem(name="Consulting hour 1", quantity=Decimal(1), unit_price=usd("125.50"),
                     total=usd("125.50")),
            LineItem(name="Consulting hour 2", quantity=Decimal(2), unit_price=usd("126.50"),
                     total=usd("253.00")),
            LineItem(name="استشارة", quantity=Decimal(3), unit_price=usd("127.50"),
                     total=usd("382.50")),
        ),
        subtotal=usd("761.00"), total=usd("761.00"), amount_paid=usd("0.00"),
        balance_due=usd("761.00"), pdf_url=None,
        hosted_url="https://pay.ondayzero.com/i/3fa85f64", description="January work",
    )
    # Exact to the cent, with the currency's two places (not 761 or 761.0).
    assert invoice.total is not None
    assert str(invoice.total.amount) == "761.00"
    assert invoice.raw["updated_at"] == "2031-01-01T09:30:00+00:00"
    assert invoice.raw["line_items"][2]["variant_id"] == "5b1e2f3a-4c5d-4e6f-8a9b-0c1d2e3f4a5b"


def test_wrapped_invoice_fixture() -> None:
    invoice = _wire.parse_invoice(response(load_fixture("invoice_wrapped_200.json")))
    eur = "EUR"
    assert invoice == Invoice(
        id="9b2c7d4e-1f3a-4b5c-8d6e-7f8091a2b3c4", provider="dayzero", number="INV-014",
        status=InvoiceStatus.PAID, provider_status="stripe_paid",
        issue_date=dt.date(2031, 2, 1), due_date=dt.date(2031, 2, 15), currency=eur,
        customer=Customer(id="8c2d5e71-3b4a-4f69-9e0d-1a2b3c4d5e6f", name="Ada Lovelace",
                          email="ada@example.com"),
        items=(LineItem(name="Audit", quantity=Decimal(1), unit_price=Money("2500.00", eur),
                        total=Money("2500.00", eur)),),  # no `amount`: 1 x 2500.00
        subtotal=Money("2500.00", eur), total=Money("2500.00", eur),
        amount_paid=Money("2500.00", eur), balance_due=Money("0.00", eur),
        pdf_url="https://files.ondayzero.com/invoices/INV-014.pdf", hosted_url=None,
        description=None,
    )
    assert "success" not in invoice.raw  # raw is the invoice, not its envelope


def test_page_fixture() -> None:
    page = _wire.invoice_page(response(load_fixture("invoices_page_200.json")))
    assert page.next_cursor == "Mw=="  # has_next: true
    summary, draft, anonymous = page.items
    assert (summary.id, summary.status, summary.items) == (
        "3fa85f64-5717-4562-b3fc-2c963f66afa6", InvoiceStatus.OPEN, ())  # line_items: null
    assert summary.total == usd("761.00")
    assert (draft.status, draft.number, draft.issue_date) == (InvoiceStatus.DRAFT, None, None)
    assert draft.customer == Customer(id="2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a",
                                      name="شركة المثال", email="billing@example.sa")
    assert draft.items == (LineItem(name="Retainer", quantity=Decimal(1),
                                    unit_price=Money("999.00", "GBP"),
                                    total=Money("999.00", "GBP")),)
    assert (anonymous.status, anonymous.provider_status) == (InvoiceStatus.PAID, "manual_paid")
    assert (anonymous.currency, anonymous.customer, anonymous.subtotal) == ("USD", None, None)
    assert (anonymous.total, anonymous.balance_due) == (usd("10.00"), usd("0.00"))


def test_wrapped_page_fixture_with_has_more() -> None:
    page = _wire.invoice_page(response(load_fixture("invoices_page_has_more_200.json")))
    assert page.next_cursor is None  # has_more: false ends the listing despite a cursor
    partial, refunded = page.items
    assert (partial.status, partial.currency) == (InvoiceStatus.PARTIALLY_PAID, "CAD")
    assert (partial.amount_paid, partial.balance_due) == (Money("300.00", "CAD"),
                                                         Money("600.00", "CAD"))
    assert partial.items[0].total == Money("900.00", "CAD")
    assert (refunded.status, refunded.provider_status) == (InvoiceStatus.UNKNOWN, "refunded")
    assert refunded.customer == Customer(id="8c2d5e71-3b4a-4f69-9e0d-1a2b3c4d5e6f")


def test_number_may_come_as_invoice_number() -> None:
    """The send response names it `invoice_number`, invoice objects `number`: both read."""
    data = {k: v for k, v in load_fixture("invoice_200.json").items() if k != "number"}
    invoice = _wire.parse_invoice(response({**data, "invoice_number": "INV-042"}))
    assert invoice.number == "INV-042"
    both = _wire.parse_invoice(response({**data, "number": "INV-001",
                                         "invoice_number": "INV-042"}))
    assert both.number == "INV-001"  # the invoice object's own field wins


# ---- exactness (issue 13, item 8) ----------------------------------------------------------
def test_huge_integer_cents_stay_exact() -> None:
    invoice = _wire.to_invoice({**load_fixture("invoice_200.json"), "total": 10**30 + 1,
                                "balance_due": 9007199254740993})
    assert invoice.total is not None
    assert invoice.balance_due is not None
    assert str(invoice.total.amount) == "10000000000000000000000000000.01"
    assert str(invoice.balance_due.amount) == "90071992547409.93"


@pytest.mark.parametrize("cents", [9007199254740993.0, 12.0, 12.5, 1e3])
def test_float_cents_are_refused_naming_the_field(cents: float) -> None:
    data = load_fixture("invoice_200.json")
    with pytest.raises(errors.ProviderUnavailable) as info:
        _wire.parse_invoice(response({**data, "total": cents}))
    assert f"total: expected integer cents or null, got {cents!r}" in str(info.value)
    data["line_items"][2]["unit_price"] = cents
    with pytest.raises(errors.ProviderUnavailable) as info:
        _wire.parse_invoice(response(data))
    assert f"line_items[2].unit_price: expected integer cents, got {cents!r}" in str(info.value)


def test_float_cents_in_a_page_name_the_item() -> None:
    page = load_fixture("invoices_page_200.json")
    page["items"][1]["line_items"][0]["unit_price"] = "12.5"
    with pytest.raises(errors.ProviderUnavailable) as info:
        _wire.invoice_page(response(page))
    assert ("unusable invoice from DayZero: items[1].line_items[0].unit_price: expected "
            "integer cents, got '12.5'" in str(info.value))
    page["items"][1] = ["not", "an", "invoice"]
    with pytest.raises(errors.ProviderUnavailable) as info:
        _wire.invoice_page(response(page))
    assert ("unusable invoice from DayZero: items[1]: expected an invoice object, got list"
            in str(info.value))


def test_a_huge_draft_amount_is_refused_naming_the_field() -> None:
    # Beyond what Money holds at all: refused where the amount is made, typed.
    with pytest.raises(errors.InvalidRequest, match="out of range"):
        Money(Decimal("1e999999"), "USD")
    # The largest amounts Money holds are still beyond what DayZero takes.
    huge = Decimal("9" * 99)
    item = LineItem(name="Everything", quantity=1, unit_price=Money(huge, "USD"))
    with pytest.raises(errors.InvalidRequest) as info:
        _rules.check_draft(make_draft(1, items=(item,), customer=Customer(id=CUSTOMER_ID)))
    assert list(info.value.fields) == ["items.0.unit_price"]
    assert "beyond the largest amount DayZero takes (90071992547409.91" in str(info.value)
    with pytest.raises(errors.InvalidRequest) as info:
        _rules.check_draft(make_draft(1, total=Money(-huge, "USD")))
    assert list(info.value.fields) == ["total"]


def test_a_sub_cent_amount_with_many_digits_is_refused() -> None:
    """Exact arithmetic: a default-precision scaling would round this to whole cents."""
    price = Money(Decimal("1.00000000000000000000000000001"), "USD")
    item = LineItem(name="Almost one dollar", quantity=1, unit_price=price)
    with pytest.raises(errors.InvalidRequest) as info:
        _rules.check_draft(make_draft(1, items=(item,)))
    assert "fraction of a cent" in info.value.fields["items.0.unit_price"][0]


# ---- malformed bodies: the typed error names the field -------------------------------------
@pytest.mark.parametrize(("changes", "message"), [
    ({"id": None}, "id: expected a UUID, got None"),
    ({"id": "../../admin"}, "id: expected a UUID, got '../../admin'"),
    ({"id": 42}, "id: expected a UUID, got 42"),
    ({"status": 7}, "status: expected a string, got 7"),
    ({"number": 7}, "number: expected a string or null, got 7"),
    ({"total": True}, "total: expected integer cents or null, got True"),
    ({"total": "76100"}, "total: expected integer cents or null, got '76100'"),
    ({"due_date": "31/01/2031"}, "due_date: expected a YYYY-MM-DD date, got '31/01/2031'"),
    ({"due_date": "2031-02-30"}, "due_date: expected a YYYY-MM-DD date, got '2031-02-30'"),
    ({"currency": "XXX"}, "currency: expected an ISO 4217 code, got 'XXX'"),
    ({"currency": 0}, "currency: expected an ISO 4217 code, got 0"),
    ({"line_items": "nope"}, "line_items: expected a list or null, got 'nope'"),
    ({"line_items": [None]}, "line_items[0]: expected a line item object, got None"),
    ({"line_items": [[1]]}, "line_items[0]: expected a line item object, got a list of 1"),
    ({"status": {"a": [[[]]]}}, "status: expected a string, got an object of 1 fields"),
    ({"line_items": [{"description": "x", "quantity": 1.5, "unit_price": 100}]},
     "line_items[0].quantity: expected a whole number, got 1.5"),
    ({"line_items": [{"quantity": 1, "unit_price": 100}]},
     "line_items[0].description: expected a string, got nothing (the field is missing)"),
    ({"line_items": [{"description": "x", "quantity": 1, "unit_price": 1, "amount": "1"}]},
     "line_items[0].amount: expected integer cents or null, got '1'"),
    ({"line_items": [{"description": "x", "quantity": 1, "unit_price": 1, "id": 5}]},
     "line_items[0].id: expected a string or null, got 5"),
])
def test_malformed_invoice_names_the_field(changes: dict[str, Any], message: str) -> None:
    data = {**load_fixture("invoice_200.json"), **changes}
    with pytest.raises(errors.ProviderUnavailable) as info:
        _wire.parse_invoice(response(data))
    assert type(info.value) is errors.ProviderUnavailable  # a read: not OutcomeUnknown
    assert f"unusable invoice from DayZero: {message}" in str(info.value)
    assert info.value.provider == "dayzero"
    with pytest.raises(errors.OutcomeUnknown, match="may or may not have happened"):
        _wire.parse_invoice(response(data, method="POST", status=201))


@pytest.mark.parametrize(("changes", "message"), [
    ({"next_cursor": 5}, "next_cursor: expected a string or null, got 5"),
    ({"has_next": "true"}, "has_next: expected true, false or null, got 'true'"),
    ({"has_more": 1}, "has_more: expected true, false or null, got 1"),
])
def test_malformed_page_names_the_field(changes: dict[str, Any], message: str) -> None:
    page = {**load_fixture("invoices_page_200.json"), **changes}
    with pytest.raises(errors.ProviderUnavailable) as info:
        _wire.invoice_page(response(page))
    assert message in str(info.value)


def test_an_echoed_secret_is_not_in_the_message() -> None:
    from invoicekit.provider import register_secret

    register_secret("dz_reader_canary_7d1e")
    data = {**load_fixture("invoice_200.json"), "status": ["dz_reader_canary_7d1e"]}
    with pytest.raises(errors.ProviderUnavailable) as info:
        _wire.parse_invoice(response(data))
    assert "status: expected a string" in str(info.value)
    assert "dz_reader_canary_7d1e" not in str(info.value)


# ---- success: false in a 2xx (issue 13, item 13) ------------------------------------------
FAILED = {"success": False, "message": "Business suspended", "code": "suspended", "data": None}


def test_success_false_after_a_write_is_outcome_unknown() -> None:
    with pytest.raises(errors.OutcomeUnknown) as info:
        _wire.parse_invoice(response(FAILED, method="POST", status=201))
    assert (info.value.message, info.value.code, info.value.status) == (
        "Business suspended", "suspended", 201)
    with pytest.raises(errors.OutcomeUnknown, match="Business suspended"):
        _wire.parse_receipt(response(FAILED, method="POST", status=201), INVOICE_ID)
    without_data = {"success": False, "message": "Business suspended"}
    with pytest.raises(errors.OutcomeUnknown) as info:
        _wire.answered_invoice(response(without_data, method="PUT"))
    assert info.value.message == "Business suspended"


def test_success_false_after_a_read_is_a_provider_error() -> None:
    with pytest.raises(errors.ProviderError) as info:
        _wire.invoice_page(response(FAILED))
    assert type(info.value) is errors.ProviderError
    assert (info.value.message, info.value.code) == ("Business suspended", "suspended")


# ---- the writer ------------------------------------------------------------------------------
def test_create_body() -> None:
    draft = make_draft(3, customer=Customer(id=CUSTOMER_ID))
    body = _wire.invoice_body(_rules.check_draft(draft), CUSTOMER_ID)
    assert json.dumps(body, ensure_ascii=False) == json.dumps({
        "customer_id": CUSTOMER_ID,
        "line_items": [
            {"description": "Consulting hour 1", "quantity": 1, "unit_price": 12550},
            {"description": "Consulting hour 2", "quantity": 2, "unit_price": 12650},
            {"description": "Consulting hour 3", "quantity": 3, "unit_price": 12750},
        ],
        "due_date": "2031-01-31",
        "issue_date": "2031-01-01",
        "description": "January work",
        "currency": "USD",
    })  # the key order included


def test_create_body_leaves_out_what_the_draft_does_not_say() -> None:
    draft = InvoiceDraft(customer=Customer(id=CUSTOMER_ID), due_date=dt.datetime(2031, 1, 31, 12),
                         items=(LineItem(name="Two", quantity=Decimal("2.000"),
                                         unit_price=Money("0.10", "GBP")),))
    assert _wire.invoice_body(_rules.check_draft(draft), CUSTOMER_ID) == {
        "customer_id": CUSTOMER_ID,
        "line_items": [{"description": "Two", "quantity": 2, "unit_price": 10}],
        "due_date": "2031-01-31",  # a datetime is written as its date
        "currency": "GBP",  # from the amounts
    }


# ---- generated payloads -------------------------------------------------------------------
CENTS = st.integers(-(10**20), 10**20)
TEXT = st.text(max_size=12)
STATUSES = {"draft": InvoiceStatus.DRAFT, "open": InvoiceStatus.OPEN,
            "partially_paid": InvoiceStatus.PARTIALLY_PAID, "stripe_paid": InvoiceStatus.PAID,
            "manual_paid": InvoiceStatus.PAID, "void": InvoiceStatus.VOID,
            "uncollectible": InvoiceStatus.UNCOLLECTIBLE, "refunded": InvoiceStatus.UNKNOWN,
            "": InvoiceStatus.UNKNOWN}
UUIDS = st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper())


def exact(cents: int, places: int = 2) -> Decimal:
    """*cents* as an amount, through text (not the reader's arithmetic)."""
    return Decimal(f"{cents}E-{places}")


@st.composite
def valid_invoices(draw: st.DrawFn) -> dict[str, Any]:
    lines = [{"description": draw(TEXT), "quantity": draw(st.integers(-5, 10**6)),
              "unit_price": draw(CENTS)} for _ in range(draw(st.integers(0, 4)))]
    for line in lines:
        if draw(st.booleans()):
            line["amount"] = draw(CENTS)
        if draw(st.booleans()):
            line["variant_id"] = draw(st.none() | UUIDS)
    data: dict[str, Any] = {"id": draw(UUIDS), "status": draw(st.sampled_from(sorted(STATUSES))),
                            "line_items": draw(st.sampled_from([lines, None]))}
    optional = {
        "currency": st.sampled_from(["USD", "cad", "EUR", "gbp", "AUD", "JPY", "KWD", None]),
        "number": st.none() | TEXT, "invoice_number": st.none() | TEXT,
        "customer_id": st.none() | UUIDS, "customer_name": st.none() | TEXT,
        "customer_email": st.none() | TEXT, "description": st.none() | TEXT,
        "issue_date": st.none() | st.dates().map(dt.date.isoformat),
        "due_date": st.none() | st.dates().map(lambda d: f"{d.isoformat()}T00:00:00Z"),
        "subtotal": st.none() | CENTS, "total": st.none() | CENTS,
        "total_paid": st.none() | CENTS, "balance_due": st.none() | CENTS,
        "pdf_url": st.none() | TEXT, "hosted_invoice_url": st.none() | TEXT,
        "created_at": st.none() | TEXT, "extra": st.none() | TEXT | CENTS,
    }
    for key, values in optional.items():
        if draw(st.booleans()):
            data[key] = draw(values)
    return data


PLACES = {"USD": 2, "CAD": 2, "EUR": 2, "GBP": 2, "AUD": 2, "JPY": 0, "KWD": 3}


@PROPERTY
@given(valid_invoices(), st.booleans())
def test_generated_invoices_read_exactly(data: dict[str, Any], wrap: bool) -> None:
    body = {"success": True, "message": "OK", "code": 200, "data": data} if wrap else data
    invoice = _wire.parse_invoice(response(json.loads(json.dumps(body))))
    code = (data.get("currency") or "USD").upper()
    places = PLACES[code]
    assert (invoice.id, invoice.currency, invoice.provider) == (data["id"], code, "dayzero")
    assert invoice.status is STATUSES[data["status"]]
    assert invoice.provider_status == data["status"]
    assert invoice.number == (data.get("number") if data.get("number") is not None
                              else data.get("invoice_number"))
    for field, key in (("total", "total"), ("subtotal", "subtotal"),
                       ("amount_paid", "total_paid"), ("balance_due", "balance_due")):
        money = getattr(invoice, field)
        cents = data.get(key)
        assert (None if money is None else (money.amount, money.currency)) == (
            None if cents is None else (exact(cents, places), code))
    for field in ("issue_date", "due_date"):
        text = data.get(field)
        assert getattr(invoice, field) == (None if text is None else dt.date(
            int(text[:4]), int(text[5:7]), int(text[8:10])))
    lines = data["line_items"] or []
    assert len(invoice.items) == len(lines)
    for item, line in zip(invoice.items, lines, strict=True):
        assert (item.name, item.quantity) == (line["description"], line["quantity"])
        assert item.unit_price.amount == exact(line["unit_price"], places)
        line_total = line.get("amount", line["unit_price"] * line["quantity"])
        assert item.total is not None
        assert item.total.amount == exact(line_total, places)
    assert dict(invoice.raw) == data


ODD_VALUES = (None, True, 0, 7, -1, 2.0, 12.5, 10**20, "", "x", "12550", "2031-01-31", "USD",
              [], {}, [{}])

# What each field takes (the documented JSON types), as the test's own table.
ACCEPTS: dict[str, Any] = {
    "id": lambda v: isinstance(v, str) and len(v) == 36,
    "status": lambda v: isinstance(v, str),
    "currency": lambda v: v in (None, "", "USD"),
    "issue_date": lambda v: v is None or v == "2031-01-31",
    "due_date": lambda v: v is None or v == "2031-01-31",
    "line_items": lambda v: v is None or v == [],
    "subtotal": lambda v: v is None or type(v) is int,
    "total": lambda v: v is None or type(v) is int,
    "total_paid": lambda v: v is None or type(v) is int,
    "balance_due": lambda v: v is None or type(v) is int,
    "line_items[].description": lambda v: isinstance(v, str),
    "line_items[].quantity": lambda v: type(v) is int,
    "line_items[].unit_price": lambda v: type(v) is int,
    "line_items[].amount": lambda v: v is None or type(v) is int,
    "line_items[].variant_id": lambda v: v is None or isinstance(v, str),
    "line_items[].id": lambda v: v is None or isinstance(v, str),
}
TEXT_FIELDS = ("number", "invoice_number", "customer_id", "customer_name", "customer_email",
               "description", "pdf_url", "hosted_invoice_url", "created_at")


@PROPERTY
@given(st.sampled_from([*ACCEPTS, *TEXT_FIELDS, "unknown_field"]), st.sampled_from(ODD_VALUES),
       st.integers(0, 2))
def test_one_odd_value_is_read_or_named(field: str, value: Any, index: int) -> None:
    """A fixture with one field replaced: an invoice if the field takes the value, else the
    typed error whose message names that field's path."""
    data = load_fixture("invoice_200.json")
    if field.startswith("line_items[]."):
        key = field.partition(".")[2]
        data["line_items"][index][key] = value
        path = f"line_items[{index}].{key}"
    else:
        data[field] = value
        path = field
    accepts = ACCEPTS.get(field, lambda v: field == "unknown_field" or v is None
                          or isinstance(v, str))
    if accepts(value):
        assert _wire.parse_invoice(response(data)).id == "3fa85f64-5717-4562-b3fc-2c963f66afa6"
        return
    with pytest.raises(errors.ProviderUnavailable) as info:
        _wire.parse_invoice(response(data))
    # `line_items` may be refused for what is inside it: the path then goes deeper.
    assert f"unusable invoice from DayZero: {path}" in str(info.value)
    assert ": expected " in str(info.value)


@st.composite
def checked_drafts(draw: st.DrawFn) -> tuple[InvoiceDraft, list[tuple[str, int, int]]]:
    """A draft DayZero takes, and its lines as (name, quantity, cents) written by hand."""
    currency = draw(st.sampled_from(_rules.SUPPORTED_CURRENCIES))
    lines = [(draw(st.text(min_size=1, max_size=8).filter(str.strip)),
              draw(st.integers(1, 1000)), draw(st.integers(0, 10**9)))
             for _ in range(draw(st.integers(1, 4)))]
    items = tuple(LineItem(name=name, quantity=Decimal(qty) * Decimal("1.00"),
                           unit_price=Money(exact(cents), currency)) for name, qty, cents in lines)
    draft = InvoiceDraft(
        customer=Customer(id=draw(UUIDS)), due_date=draw(st.dates()), items=items,
        issue_date=draw(st.none() | st.dates()), description=draw(st.none() | TEXT),
        currency=draw(st.sampled_from([None, currency])),
        total=draw(st.sampled_from([None, Money(exact(sum(q * c for _, q, c in lines)),
                                                currency)])),
    )
    return draft, lines


def ymd(day: dt.date | None) -> str:
    assert day is not None
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"


@PROPERTY
@given(checked_drafts())
def test_generated_drafts_are_written_exactly(case: tuple[InvoiceDraft, list[Any]]) -> None:
    draft, lines = case
    body = _wire.invoice_body(_rules.check_draft(draft), CUSTOMER_ID)
    assert body["line_items"] == [{"description": name, "quantity": qty, "unit_price": cents}
                                  for name, qty, cents in lines]
    assert all(type(line["quantity"]) is int for line in body["line_items"])
    assert body["due_date"] == ymd(draft.due_date)
    assert body.get("issue_date") == (None if draft.issue_date is None
                                      else ymd(draft.issue_date))
    assert body["currency"] == draft.items[0].unit_price.currency
    assert body.get("description") == draft.description


BAD_AMOUNTS = ("1e98", "-1e98", "1e-99", "12.345", "90071992547409.92",
               "1.00000000000000000000000000001")
AMOUNTS = st.sampled_from([*BAD_AMOUNTS, "0E+99", "90071992547409.91", "0.01", "1E+2", "-5"])
BAD_QUANTITIES = ("1e999999", "0.5", "0E+99", "-2")


@PROPERTY
@given(AMOUNTS, AMOUNTS, st.sampled_from([*BAD_QUANTITIES, "1", "3.000"]))
def test_any_amount_is_checked_without_a_bare_decimal_error(price: str, total: str,
                                                            quantity: str) -> None:
    item = LineItem(name="x", quantity=Decimal(quantity), unit_price=usd(price))
    draft = make_draft(1, items=(item,), total=usd(total), customer=Customer(id=CUSTOMER_ID))
    fields: set[str] = set()
    try:
        checked = _rules.check_draft(draft)
    except errors.InvalidRequest as exc:
        fields = set(exc.fields)
    else:
        assert checked is draft
    assert fields <= {"items.0.unit_price", "items.0.quantity", "items.0.total", "items",
                      "total"}
    assert ("items.0.unit_price" in fields) is (price in BAD_AMOUNTS)
    assert ("items.0.quantity" in fields) is (quantity in BAD_QUANTITIES)
    if total in BAD_AMOUNTS:
        assert "total" in fields
