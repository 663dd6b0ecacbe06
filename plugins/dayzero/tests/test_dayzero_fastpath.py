"""The fast paths of `_wire` give exactly what the converter paths give.

`fast_invoice` reads a decoded invoice straight into the domain model, `fast_paging` a
list page's cursor and flags, `fast_invoice_body` writes a create body without the wire
classes; each returns `None` for anything it does not take, and the caller takes the
cattrs path. The oracle here is the same public function with the fast paths switched
off: for the fixtures and for generated variants of them (bare and wrapped, known and
unknown statuses, missing and mistyped fields, `has_next` and `has_more`), both give the
same invoices (field by field, `raw` included) or the same typed error.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from dayzero_support import CUSTOMER_ID, FIXTURES, load_fixture, make_draft
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoicekit import Customer, Invoice, InvoiceDraft, LineItem, Money, Request, Response, errors
from invoicekit_dayzero import _wire

PROPERTY = settings(max_examples=250, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

INVOICE_FIXTURES = ("invoice_200.json", "invoice_wrapped_200.json")
PAGE_FIXTURES = ("invoices_page_200.json", "invoices_page_has_more_200.json")


@contextmanager
def converter_only() -> Iterator[None]:
    """`_wire` with its fast paths switched off: the converter reads everything."""
    with mock.patch.object(_wire, "fast_invoice", return_value=None), \
            mock.patch.object(_wire, "fast_paging", return_value=None), \
            mock.patch.object(_wire, "fast_invoice_body", return_value=None):
        yield


def response(data: Any, method: str = "GET") -> Response:
    return Response(status=200, headers={"content-type": "application/json"},
                    content=json.dumps(data, ensure_ascii=False).encode(),
                    request=Request(method, "/invoices"), provider="dayzero")


def exactly(invoice: Invoice) -> tuple[Any, ...]:
    """Everything about an invoice, `raw` included (`==` leaves it out) and every amount
    with its exponent (`Decimal("1.50") == Decimal("1.5")`)."""
    return (invoice, repr(invoice), dict(invoice.raw),
            [m.amount.as_tuple() for m in _amounts(invoice)])


def _amounts(invoice: Invoice) -> Iterable[Money]:
    for money in (invoice.subtotal, invoice.total, invoice.amount_paid, invoice.balance_due):
        if money is not None:
            yield money
    for item in invoice.items:
        yield item.unit_price
        if item.total is not None:
            yield item.total


def outcome(fn: Callable[[], Any]) -> Any:
    """What *fn* returns (made comparable), or the type and text of what it raises."""
    try:
        result = fn()
    except errors.InvoiceKitError as exc:
        return ("raised", type(exc).__name__, str(exc), exc.status, exc.provider)
    if isinstance(result, Invoice):
        return exactly(result)
    if isinstance(result, _wire.InvoicePage):
        return ([exactly(i) for i in result.items], result.next_cursor)
    return result


def both(fn: Callable[[], Any]) -> tuple[Any, Any]:
    fast = outcome(fn)
    with converter_only():
        slow = outcome(fn)
    return fast, slow


# ---- the fixtures ---------------------------------------------------------------------
@pytest.mark.parametrize("name", INVOICE_FIXTURES)
def test_fixture_invoices_take_the_fast_path_and_match(name: str) -> None:
    data = load_fixture(name)
    assert _wire.fast_invoice(_wire.unwrap(data)) is not None  # the fast path is taken
    fast, slow = both(lambda: _wire.parse_invoice(response(data)))
    assert fast == slow
    assert fast[0].provider == "dayzero"


@pytest.mark.parametrize("name", PAGE_FIXTURES)
def test_fixture_pages_take_the_fast_path_and_match(name: str) -> None:
    data = load_fixture(name)
    page = _wire.unwrap(data)
    assert _wire.fast_paging(page) is not None
    assert all(_wire.fast_invoice(item) is not None for item in page["items"])
    fast, slow = both(lambda: _wire.invoice_page(response(data)))
    assert fast == slow
    assert len(fast[0]) == len(page["items"])


def test_fixture_values_are_read_right() -> None:
    page = _wire.invoice_page(response(load_fixture("invoices_page_200.json")))
    summary, draft, anonymous = page.items
    assert page.next_cursor == "Mw=="
    assert summary.items == ()
    assert summary.total == Money("761.00", "USD")
    assert draft.customer == Customer(id="2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a",
                                      name="شركة المثال", email="billing@example.sa")
    assert draft.items[0].total == Money("999.00", "GBP")  # quantity x unit price
    assert (anonymous.customer, anonymous.currency, anonymous.subtotal) == (None, "USD", None)
    wrapped = _wire.parse_invoice(response(load_fixture("invoice_wrapped_200.json")))
    assert (wrapped.currency, wrapped.due_date) == ("EUR", dt.date(2031, 2, 15))
    last = _wire.invoice_page(response(load_fixture("invoices_page_has_more_200.json")))
    assert last.next_cursor is None  # has_more: false wins over a cursor
    assert last.items[1].provider_status == "refunded"


def test_every_fixture_is_covered() -> None:
    assert {p.name for p in FIXTURES.glob("*.json")} == {
        *INVOICE_FIXTURES, *PAGE_FIXTURES, "send_invoice_201.json"}


# ---- generated variants ---------------------------------------------------------------
ids = st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper()) | st.sampled_from(
    ["not-a-uuid", "", "3fa85f64-5717-4562-b3fc-2c963f66afa6\n", 1128904162, None])
statuses = st.sampled_from(["draft", "open", "partially_paid", "stripe_paid", "manual_paid",
                            "paid", "void", "uncollectible", "refunded", "OPEN", ""]) | st.text(
    max_size=8) | st.sampled_from([None, 3, True])
currencies = st.sampled_from([None, "USD", "usd", "EUR", "gbp", "", " usd", "ر.س", "XXX",
                              "JPY", "KWD", 840])
texts = st.none() | st.text(max_size=12) | st.sampled_from(["شاحن آنكر", "", 12, True, 1.5])
dates = st.none() | st.dates().map(dt.date.isoformat) | st.sampled_from(
    ["2031-01-31T23:00:00Z", " 2031-01-31", "2031-01-31 ", "20310131", "2031-02-30",
     "31/01/2031", "", 20310131, True])
cents = st.none() | st.integers(-10**12, 10**12) | st.sampled_from(
    [0, 1, 10**20 + 1, "12550", "-5", " 7 ", 125.0, 125.5, True, "x", [1]])
quantities = st.integers(-2, 5) | st.sampled_from([2.0, 2.5, "3", True, None, "x"])


@st.composite
def line_items(draw: st.DrawFn) -> dict[str, Any]:
    item: dict[str, Any] = {
        "description": draw(st.text(max_size=10) | st.sampled_from([None, 7, "استشارة"])),
        "quantity": draw(quantities),
        "unit_price": draw(st.integers(0, 10**7) | cents),
    }
    for key, values in (("amount", st.integers(0, 10**8) | cents), ("variant_id", texts),
                        ("id", ids), ("extra", texts)):
        if draw(st.booleans()):
            item[key] = draw(values)
    if draw(st.integers(0, 9)) == 0:
        del item[draw(st.sampled_from(["description", "quantity", "unit_price"]))]
    return item


LINE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "description": texts, "quantity": quantities, "unit_price": cents, "amount": cents,
    "variant_id": texts | ids, "id": ids | texts,
}
OPTIONAL: dict[str, st.SearchStrategy[Any]] = {
    "currency": currencies, "number": texts, "customer_id": ids | texts,
    "customer_name": texts, "customer_email": texts, "description": texts,
    "issue_date": dates, "due_date": dates, "subtotal": cents, "total": cents,
    "total_paid": cents, "balance_due": cents, "pdf_url": texts,
    "hosted_invoice_url": texts, "created_at": texts, "updated_at": texts,
    "line_items": st.none() | st.lists(line_items(), max_size=3) | st.sampled_from(
        [{}, "items", [None], [[1]]]),
}


@st.composite
def invoices(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 2)) == 0:  # a fixture with some fields changed or removed
        name = draw(st.sampled_from(INVOICE_FIXTURES))
        data = dict(_wire.unwrap(load_fixture(name)))
        for key in draw(st.lists(st.sampled_from(sorted(data)), max_size=3, unique=True)):
            if draw(st.booleans()):
                del data[key]
            else:
                data[key] = draw(OPTIONAL.get(key, texts))
        lines = data.get("line_items")
        if isinstance(lines, list) and lines and draw(st.booleans()):  # one line item changed
            index = draw(st.integers(0, len(lines) - 1))
            line = dict(lines[index]) if isinstance(lines[index], dict) else {}
            key = draw(st.sampled_from(sorted(LINE_FIELDS)))
            if draw(st.integers(0, 3)) == 0:
                line.pop(key, None)
            else:
                line[key] = draw(LINE_FIELDS[key])
            data["line_items"] = [*lines[:index], line, *lines[index + 1:]]
        return data
    data = {"id": draw(ids), "status": draw(statuses)}
    for key, values in OPTIONAL.items():
        if draw(st.booleans()):
            data[key] = draw(values)
    if draw(st.integers(0, 9)) == 0:
        del data[draw(st.sampled_from(["id", "status"]))]
    return data


def wrapped(data: Any, wrap: bool) -> Any:
    return {"success": True, "message": "OK", "code": 200, "data": data} if wrap else data


@PROPERTY
@given(invoices(), st.booleans(), st.sampled_from(["GET", "POST"]))
def test_generated_invoices_give_the_same_invoice_or_error(data: Any, wrap: bool,
                                                          method: str) -> None:
    body = wrapped(data, wrap)
    fast, slow = both(lambda: _wire.parse_invoice(response(body, method)))
    assert fast == slow


@PROPERTY
@given(invoices())
def test_the_fast_path_only_takes_what_the_converter_reads_the_same(data: Any) -> None:
    taken = _wire.fast_invoice(data)
    if taken is not None:
        with converter_only():
            assert exactly(taken) == exactly(_wire.parse_invoice(response(data)))


paging_values = st.none() | st.booleans() | st.sampled_from(["true", "false", "yes", 1, 0])


@settings(PROPERTY, max_examples=120)
@given(st.lists(invoices(), max_size=3), st.none() | st.text(max_size=6) | st.sampled_from(
    ["", 5, True]), st.sampled_from(["has_next", "has_more", "both", "neither"]),
       paging_values, paging_values, st.booleans())
def test_generated_pages_give_the_same_page_or_error(
        items: list[Any], cursor: Any, flags: str, has_next: Any, has_more: Any,
        wrap: bool) -> None:
    page: dict[str, Any] = {"items": items, "next_cursor": cursor}
    if flags in ("has_next", "both"):
        page["has_next"] = has_next
    if flags in ("has_more", "both"):
        page["has_more"] = has_more
    body = wrapped(page, wrap)
    fast, slow = both(lambda: _wire.invoice_page(response(body)))
    assert fast == slow


ODD_VALUES = (None, True, False, 0, 1, -1, 2.0, 2.5, 10**20, "", "x", "12550", " 7",
              "2031-01-31", "USD", "3fa85f64-5717-4562-b3fc-2c963f66afa6", [], {}, [{}])


def one_change_variants(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """*data* with one field (of the invoice or of one line item) removed or replaced by
    each of `ODD_VALUES`."""
    for key in data:
        yield {k: v for k, v in data.items() if k != key}
        for value in ODD_VALUES:
            yield {**data, key: value}
    for index, line in enumerate(data.get("line_items") or ()):
        for key in ("description", "quantity", "unit_price", "amount", "variant_id", "id"):
            changed = [{k: v for k, v in line.items() if k != key},
                       *({**line, key: value} for value in ODD_VALUES)]
            for new in changed:
                lines = list(data["line_items"])
                lines[index] = new
                yield {**data, "line_items": lines}


@pytest.mark.parametrize("name", INVOICE_FIXTURES)
def test_every_single_change_of_a_fixture_gives_the_same_invoice_or_error(name: str) -> None:
    checked = taken = 0
    for data in one_change_variants(_wire.unwrap(load_fixture(name))):
        fast, slow = both(lambda data=data: _wire.parse_invoice(response(data)))  # type: ignore[misc]
        assert fast == slow, data
        checked += 1
        taken += _wire.fast_invoice(data) is not None
    assert checked > 400
    assert 0 < taken < checked  # both paths were exercised


@pytest.mark.parametrize("data", [
    [], "invoice", None, {"id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"},
    {**load_fixture("invoice_200.json"), "currency": "XXX"},
    {**load_fixture("invoice_200.json"), "total": "12.5"},
    {**load_fixture("invoice_200.json"), "due_date": "2031-02-30"},
    {**load_fixture("invoice_200.json"), "id": "../../admin"},
    {**load_fixture("invoice_200.json"), "line_items": [{"description": "x", "quantity": 1.5,
                                                         "unit_price": 100}]},
])
def test_malformed_invoices_give_the_same_typed_error(data: Any) -> None:
    assert _wire.fast_invoice(data) is None
    fast, slow = both(lambda: _wire.parse_invoice(response(data)))
    assert fast == slow
    assert fast[:2] == ("raised", "ProviderUnavailable")


def test_quirks_the_converter_reads_still_read() -> None:
    data = {**load_fixture("invoice_200.json"), "total": "76100", "number": 7}
    assert _wire.fast_invoice(data) is None
    invoice = _wire.parse_invoice(response(data))
    assert (invoice.total, invoice.number) == (Money("761.00", "USD"), "7")


# ---- the create body ------------------------------------------------------------------
money_amounts = st.sampled_from(["125.50", "0.01", "100", "1.005", "0", "-3.20", "99999.99"])
draft_currencies = st.sampled_from(["USD", "EUR", "JPY", "KWD", "SAR"])


@st.composite
def drafts(draw: st.DrawFn) -> InvoiceDraft:
    currency = draw(draft_currencies)
    items = []
    for _ in range(draw(st.integers(0, 3))):
        quantity = draw(st.sampled_from([Decimal(1), Decimal(2), Decimal("3.000"),
                                         Decimal("1.5"), Decimal(0), Decimal(-1)]))
        price = Money(draw(money_amounts), currency)
        total = draw(st.sampled_from([None, "right", "wrong"]))
        items.append(LineItem(
            name=draw(st.text(max_size=8)), quantity=quantity, unit_price=price,
            total=None if total is None else (price * quantity if total == "right"
                                              else price * quantity + Money("0.01", currency)),
            discount=draw(st.sampled_from([None, Money(0, currency), Money(1, currency)])),
            tax_rate=draw(st.sampled_from([None, Decimal(0), Decimal(15)])),
        ))
    line_sum = sum((item.unit_price * item.quantity for item in items), Money(0, currency))
    customer = draw(st.sampled_from([
        None, Customer(id=CUSTOMER_ID), Customer(id="nope"), Customer(name="Ada"),
        Customer(name="Ada", email="ada@example.com")]))
    return InvoiceDraft(
        customer=customer,
        currency=draw(st.sampled_from([None, currency])),
        items=tuple(items),
        due_date=draw(st.sampled_from([None, dt.date(2031, 1, 31),
                                       dt.datetime(2031, 1, 31, 12, 0)])),
        issue_date=draw(st.sampled_from([None, dt.date(2031, 1, 1),
                                         dt.datetime(2031, 1, 1, 9, 30)])),
        description=draw(st.sampled_from([None, "January work", "عمل يناير"])),
        number=draw(st.sampled_from([None, None, "INV-1"])),
        subtotal=draw(st.sampled_from([None, line_sum, line_sum + Money("0.01", currency)])),
        total=draw(st.sampled_from([None, line_sum, Money("0.001", currency)])),
        shipping=draw(st.sampled_from([None, None, Money(0, currency), Money(5, currency)])),
    )


def body_outcome(draft: InvoiceDraft) -> Any:
    try:
        body = _wire.invoice_body(draft, CUSTOMER_ID)
    except errors.InvalidRequest as exc:
        return ("raised", str(exc), exc.fields)
    return json.dumps(body, ensure_ascii=False)  # key order included


@PROPERTY
@given(drafts())
def test_generated_drafts_give_the_same_body_or_error(draft: InvoiceDraft) -> None:
    fast = body_outcome(draft)
    with converter_only():
        slow = body_outcome(draft)
    assert fast == slow


def test_sample_draft_takes_the_fast_body() -> None:
    draft = make_draft(3, customer=Customer(id=CUSTOMER_ID))
    body = _wire.fast_invoice_body(draft, CUSTOMER_ID)
    assert body is not None
    assert body == _wire.invoice_body(draft, CUSTOMER_ID)
    assert list(body) == ["customer_id", "line_items", "due_date", "issue_date", "description",
                          "currency"]
    assert body["line_items"][1] == {"description": "Consulting hour 2", "quantity": 2,
                                     "unit_price": 12650}
    assert _wire.fast_invoice_body(
        make_draft(1, due_date=dt.datetime(2031, 1, 31, 12, 0)), CUSTOMER_ID) is None

