"""Wire conversion: cents <-> Money, statuses, envelopes, the spec's send response, and
malformed bodies that must become typed errors."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from dayzero_support import INVOICE_ID, load_fixture, wire_invoice

from invoicekit import InvoiceStatus, Money, Request, Response, SendReceipt, errors
from invoicekit_dayzero import _wire
from invoicekit_dayzero._errors import dotted_location, error_from_response


def response(data: Any, *, status: int = 200, method: str = "GET", raw: bytes | None = None,
             ctype: str = "application/json") -> Response:
    content = raw if raw is not None else json.dumps(data, ensure_ascii=False).encode()
    return Response(status=status, headers={"content-type": ctype}, content=content,
                    request=Request(method, "/invoices"), provider="dayzero")


def test_spec_send_response_converts_to_a_receipt() -> None:
    data = load_fixture("send_invoice_201.json")
    receipt = _wire.parse_receipt(response(data, status=201, method="POST"), INVOICE_ID)
    assert receipt == SendReceipt(
        invoice_id=INVOICE_ID, sent=True, recipient="ada@example.com", cc="owner@example.com",
        message_id="0100018f2c3d4e5f-6a7b8c9d-0e1f-2a3b-4c5d-6e7f8a9b0c1d-000000",
        pdf_attached=True,
    )
    assert receipt.raw["invoice_number"] == "INV-001"


def test_send_response_without_optional_fields() -> None:
    data = {"success": True, "invoice_id": INVOICE_ID, "invoice_number": "INV-001",
            "customer_email": "a@b.co"}
    receipt = _wire.parse_receipt(response(data, status=201, method="POST"), INVOICE_ID)
    assert (receipt.cc, receipt.message_id, receipt.pdf_attached) == (None, None, None)


def test_cents_become_exact_money() -> None:
    invoice = _wire.parse_invoice(response(wire_invoice(currency="EUR", total=100000001,
                                                        balance_due=1, total_paid=100000000)))
    assert invoice.total == Money(Decimal("1000000.01"), "EUR")
    assert invoice.balance_due == Money(Decimal("0.01"), "EUR")
    assert invoice.amount_paid == Money(Decimal("1000000.00"), "EUR")
    (item,) = invoice.items
    assert item.quantity == Decimal(3)
    assert item.unit_price == Money(Decimal("125.50"), "EUR")
    assert item.total == Money(Decimal("376.50"), "EUR")


def test_money_round_trips_through_cents() -> None:
    for cents in (0, 1, 99, 12550, 10**15 + 7):
        assert Money.from_minor(cents, "USD").to_minor() == cents


@pytest.mark.parametrize(("wire", "status"), [
    ("draft", InvoiceStatus.DRAFT), ("open", InvoiceStatus.OPEN),
    ("partially_paid", InvoiceStatus.PARTIALLY_PAID), ("stripe_paid", InvoiceStatus.PAID),
    ("manual_paid", InvoiceStatus.PAID), ("void", InvoiceStatus.VOID),
    ("uncollectible", InvoiceStatus.UNCOLLECTIBLE), ("refunded_somehow", InvoiceStatus.UNKNOWN),
])
def test_statuses(wire: str, status: InvoiceStatus) -> None:
    invoice = _wire.parse_invoice(response(wire_invoice(status=wire)))
    assert invoice.status is status
    assert invoice.provider_status == wire


def test_wrapped_and_bare_responses_are_the_same_invoice() -> None:
    bare = _wire.parse_invoice(response(wire_invoice()))
    wrapped = _wire.parse_invoice(response({"success": True, "message": "OK", "code": 200,
                                            "data": wire_invoice()}))
    assert bare == wrapped
    assert bare.customer is not None
    assert bare.customer.email == "ada@example.com"
    assert bare.hosted_url == "https://pay.ondayzero.com/i/x"
    assert bare.raw["created_at"] == "2031-01-01T09:30:00Z"


def test_wrapped_failure_is_a_provider_error() -> None:
    with pytest.raises(errors.ProviderError, match="Business suspended") as info:
        _wire.parse_invoice(response({"success": False, "message": "Business suspended",
                                      "code": "suspended", "data": None}))
    assert info.value.code == "suspended"


def test_list_accepts_has_next_and_has_more() -> None:
    page = _wire.invoice_page(response({"items": [wire_invoice()], "next_cursor": "abc",
                                        "has_more": True}))
    assert page.next_cursor == "abc"
    assert len(page.items) == 1
    last = _wire.invoice_page(response({"items": [], "next_cursor": "abc", "has_next": False}))
    assert last.next_cursor is None


def test_missing_currency_is_the_documented_default() -> None:
    invoice = _wire.parse_invoice(response(wire_invoice(currency=None)))
    assert invoice.currency == _wire.DEFAULT_CURRENCY
    assert invoice.total is not None
    assert invoice.total.currency == "USD"


def test_unicode_is_kept_verbatim() -> None:
    invoice = _wire.parse_invoice(response(wire_invoice(customer_name="شركة الأفق",
                                                        description="Café – naïve")))
    assert invoice.customer is not None
    assert invoice.customer.name == "شركة الأفق"
    assert invoice.description == "Café – naïve"


@pytest.mark.parametrize("changes", [
    {"total": 12.5},                       # a fraction of a cent
    {"total": "lots"},
    {"total": True},
    {"id": None},
    {"id": "not-a-uuid"},
    {"status": None},
    {"line_items": [{"description": "x", "quantity": 1.5, "unit_price": 100}]},
    {"line_items": "nope"},
    {"due_date": "31/01/2031"},
    {"currency": "XXX1"},
])
def test_malformed_invoice_is_provider_unavailable(changes: dict[str, Any]) -> None:
    with pytest.raises(errors.ProviderUnavailable) as info:
        _wire.parse_invoice(response(wire_invoice(**changes)))
    assert "DayZero" in str(info.value) or "dayzero" in str(info.value)


@pytest.mark.parametrize(("raw", "problem"), [
    (b"", "empty response body where JSON was expected"),
    (b"<html>oops</html>", "response body is not valid JSON"),
    (b"{\"items\": [", "response body is not valid JSON"),
    (b"[1, 2]", "expected an invoice list page object from DayZero, got list"),
    (b"null", "expected an invoice list page object from DayZero, got NoneType"),
    (b"\xff\xfe", "response body is not valid JSON"),
])
def test_unreadable_bodies_are_typed(raw: bytes, problem: str) -> None:
    with pytest.raises(errors.ProviderUnavailable,
                       match=rf"^dayzero HTTP 200: {re.escape(problem)} \(HTTP 200, body: "):
        _wire.invoice_page(response(None, raw=raw))


def test_malformed_write_answer_is_outcome_unknown() -> None:
    with pytest.raises(errors.OutcomeUnknown, match=r"^dayzero HTTP 201: unexpected send result "
                       r"from DayZero: .*the write may or may not have happened$"):
        _wire.parse_receipt(response({"success": "maybe"}, status=201, method="POST"),
                            INVOICE_ID)


def test_list_without_items_array() -> None:
    with pytest.raises(errors.ProviderUnavailable, match="items"):
        _wire.invoice_page(response({"data": [], "has_next": False}))


@pytest.mark.parametrize("data", [{"pdf_url": "https://f/x.pdf"}, {"url": "https://f/x.pdf"},
                                  {"download_url": "https://f/x.pdf"}, "https://f/x.pdf",
                                  {"success": True, "message": "", "code": 200,
                                   "data": {"signed_url": "https://f/x.pdf"}}])
def test_pdf_link_shapes(data: Any) -> None:
    assert _wire.parse_pdf_url(response(data)) == "https://f/x.pdf"


def test_pdf_link_missing() -> None:
    with pytest.raises(errors.ProviderUnavailable, match="pdf_url"):
        _wire.parse_pdf_url(response({"file": "x.pdf"}))


# ---- errors ----------------------------------------------------------------------------
def test_fastapi_detail_string() -> None:
    err = error_from_response(response({"detail": "Invoice not found"}, status=404))
    assert isinstance(err, errors.NotFound)
    assert (err.status, err.message, err.provider) == (404, "Invoice not found", "dayzero")


def test_fastapi_validation_list_keys_fields_by_dotted_location() -> None:
    detail = [
        {"loc": ["body", "line_items", 0, "quantity"],
         "msg": "Input should be a valid integer, got a number with a fractional part",
         "type": "int_from_float", "input": 1.5},
        {"loc": ["body", "due_date"], "msg": "Field required", "type": "missing"},
    ]
    err = error_from_response(response({"detail": detail}, status=422))
    assert isinstance(err, errors.ValidationError)
    assert err.fields == {
        "body.line_items.0.quantity": [
            "Input should be a valid integer, got a number with a fractional part"],
        "body.due_date": ["Field required"],
    }
    assert err.code == "int_from_float"
    assert "body.due_date: Field required" in str(err)


@pytest.mark.parametrize(("status", "cls"), [
    (400, errors.ValidationError), (401, errors.AuthenticationError),
    (403, errors.PermissionDenied), (409, errors.Conflict), (429, errors.RateLimited),
    (500, errors.ProviderUnavailable), (503, errors.ProviderUnavailable),
])
def test_status_classes(status: int, cls: type[errors.ProviderError]) -> None:
    err = error_from_response(response({"detail": "nope"}, status=status))
    assert type(err) is cls
    assert err.message == "nope"


@pytest.mark.parametrize("raw", [b"", b"<h1>502 Bad Gateway</h1>", b"{\"detail\": 5}",
                                 b"{\"detail\": [1, {\"loc\": null}]}", b"\xff"])
def test_error_parser_never_raises(raw: bytes) -> None:
    err = error_from_response(response(None, status=502, raw=raw))
    assert isinstance(err, errors.ProviderUnavailable)
    assert err.message


def test_wrapped_error_message() -> None:
    err = error_from_response(response({"success": False, "message": "Nope", "code": "E42",
                                        "data": None}, status=400))
    assert (err.message, err.code) == ("Nope", "E42")


def test_dotted_location() -> None:
    assert dotted_location(["header", "x-business-id"]) == "header.x-business-id"
    assert dotted_location([]) == "request"
    assert dotted_location(None) == "request"
    assert dotted_location("body") == "body"


def test_null_line_items_in_a_summary() -> None:
    invoice = _wire.parse_invoice(response(wire_invoice(line_items=None)))
    assert invoice.items == ()
    assert invoice.total == Money("376.50", "USD")
