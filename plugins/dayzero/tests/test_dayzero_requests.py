"""Every DayZero request pinned: method, path, query, headers and body (no network)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from dayzero_support import (
    BUSINESS,
    CUSTOMER_ID,
    INVOICE_ID,
    TOKEN,
    Recorder,
    load_fixture,
    make_draft,
    wire_invoice,
)

import invoicekit
from invoicekit import Customer, InvoiceQuery, InvoiceStatus, SendOptions, errors

BASE = "https://api.ondayzero.com/api/v1"


def body(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


def assert_headers(request: httpx.Request) -> None:
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["x-business-id"] == BUSINESS
    assert request.headers["x-user-email"] == "owner@example.com"
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"].startswith("invoicekit/")


def test_create_invoice_with_customer_id(mock_gw: invoicekit.Gateway, recorder: Recorder) -> None:
    recorder.reply(201, wire_invoice(status="draft", number=None))
    draft = make_draft(2, customer=Customer(id=CUSTOMER_ID))
    invoice = mock_gw.create_invoice(draft)
    (request,) = recorder.requests
    assert (request.method, str(request.url)) == ("POST", f"{BASE}/invoices")
    assert_headers(request)
    assert request.headers["content-type"] == "application/json"
    assert body(request) == {
        "customer_id": CUSTOMER_ID,
        "line_items": [
            {"description": "Consulting hour 1", "quantity": 1, "unit_price": 12550},
            {"description": "Consulting hour 2", "quantity": 2, "unit_price": 12650},
        ],
        "due_date": "2031-01-31",
        "issue_date": "2031-01-01",
        "description": "January work",
        "currency": "USD",
    }
    assert invoice.status is InvoiceStatus.DRAFT
    assert invoice.customer is not None
    assert invoice.customer.id == CUSTOMER_ID


def test_create_invoice_creates_the_customer_first(mock_gw: invoicekit.Gateway,
                                                   recorder: Recorder) -> None:
    new_id = "11111111-2222-4333-8444-555555555555"
    recorder.reply(201, {"id": new_id, "name": "Ada Lovelace", "email": "ada@example.com"})
    recorder.reply(201, wire_invoice(status="draft", customer_id=new_id, customer_name=None,
                                     customer_email=None))
    draft = make_draft(1, customer=Customer(name="Ada Lovelace", email="ada@example.com",
                                            tax_id="GB123"))
    invoice = mock_gw.create_invoice(draft)
    first, second = recorder.requests
    assert (first.method, str(first.url)) == ("POST", f"{BASE}/customers")
    assert_headers(first)
    assert body(first) == {"name": "Ada Lovelace", "email": "ada@example.com", "tax_id": "GB123"}
    assert (second.method, str(second.url)) == ("POST", f"{BASE}/invoices")
    assert body(second)["customer_id"] == new_id
    assert invoice.customer == Customer(id=new_id, name="Ada Lovelace", email="ada@example.com")


def test_create_customer(mock_gw: invoicekit.Gateway, recorder: Recorder) -> None:
    recorder.reply(201, {"success": True, "message": "created", "code": 201,
                         "data": {"id": CUSTOMER_ID, "name": "Bob", "email": "bob@x.io"}})
    customer = mock_gw.create_customer(Customer(name="Bob", email="bob@x.io", phone="+15550100"))
    assert (recorder.last.method, str(recorder.last.url)) == ("POST", f"{BASE}/customers")
    assert body(recorder.last) == {"name": "Bob", "email": "bob@x.io", "phone": "+15550100"}
    assert customer.id == CUSTOMER_ID


def test_get_invoice_uses_the_documented_id_filter(mock_gw: invoicekit.Gateway,
                                                   recorder: Recorder) -> None:
    recorder.reply(200, {"items": [wire_invoice()], "next_cursor": None, "has_next": False})
    invoice = mock_gw.get_invoice(INVOICE_ID)
    request = recorder.last
    assert request.method == "GET"
    assert request.url.path == "/api/v1/invoices"
    assert dict(request.url.params) == {"id": INVOICE_ID, "limit": "1"}
    assert request.content == b""
    assert_headers(request)
    assert invoice.id == INVOICE_ID
    assert invoice.number == "INV-007"


def test_get_invoice_not_found(mock_gw: invoicekit.Gateway, recorder: Recorder) -> None:
    recorder.reply(200, {"items": [], "next_cursor": None, "has_next": False})
    with pytest.raises(errors.NotFound, match=INVOICE_ID):
        mock_gw.get_invoice(INVOICE_ID)


def test_list_pages_with_cursor_and_filters(mock_gw: invoicekit.Gateway,
                                            recorder: Recorder) -> None:
    second = "22222222-3333-4444-8555-666666666666"
    recorder.reply(200, {"items": [wire_invoice()], "next_cursor": "c1", "has_next": True})
    recorder.reply(200, {"items": [wire_invoice(id=second)], "next_cursor": None,
                         "has_more": False})
    query = InvoiceQuery(status=InvoiceStatus.OPEN, customer_id=CUSTOMER_ID, search="Ada",
                         page_size=1)
    iterator = mock_gw.list_invoices(query)
    assert recorder.requests == []  # lazy: nothing fetched before iterating
    assert next(iterator).id == INVOICE_ID
    assert len(recorder.requests) == 1
    assert [inv.id for inv in iterator] == [second]
    first_req, second_req = recorder.requests
    common = {"status": "open", "customer_id": CUSTOMER_ID, "search": "Ada", "limit": "1"}
    assert dict(first_req.url.params) == common
    assert dict(second_req.url.params) == {**common, "cursor": "c1"}
    assert_headers(second_req)


def test_list_paid_filters_locally_over_both_paid_statuses(mock_gw: invoicekit.Gateway,
                                                           recorder: Recorder) -> None:
    ids = [f"{i}aaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee" for i in range(3)]
    recorder.reply(200, {"items": [wire_invoice(id=ids[0], status="stripe_paid"),
                                   wire_invoice(id=ids[1], status="open"),
                                   wire_invoice(id=ids[2], status="manual_paid")],
                         "next_cursor": None, "has_next": False})
    found = list(mock_gw.list_invoices(InvoiceQuery(status=InvoiceStatus.PAID)))
    assert "status" not in recorder.last.url.params
    assert [(i.id, i.provider_status) for i in found] == [(ids[0], "stripe_paid"),
                                                          (ids[2], "manual_paid")]


def test_list_filters_that_cannot_match_make_no_request(mock_gw: invoicekit.Gateway,
                                                        recorder: Recorder) -> None:
    assert list(mock_gw.list_invoices(InvoiceQuery(order_id="12"))) == []
    assert list(mock_gw.list_invoices(InvoiceQuery(status=InvoiceStatus.ISSUED))) == []
    assert recorder.requests == []


def test_finalize(mock_gw: invoicekit.Gateway, recorder: Recorder) -> None:
    recorder.reply(200, wire_invoice(status="open", number="INV-008"))
    invoice = mock_gw.finalize_invoice(INVOICE_ID)
    assert (recorder.last.method, str(recorder.last.url)) == (
        "POST", f"{BASE}/invoices/{INVOICE_ID}/finalize")
    assert_headers(recorder.last)
    assert invoice.number == "INV-008"
    assert invoice.status is InvoiceStatus.OPEN


def test_void(mock_gw: invoicekit.Gateway, recorder: Recorder) -> None:
    recorder.reply(200, wire_invoice(status="void"))
    invoice = mock_gw.void_invoice(INVOICE_ID)
    assert (recorder.last.method, str(recorder.last.url)) == (
        "PUT", f"{BASE}/invoices/{INVOICE_ID}/void")
    assert_headers(recorder.last)
    assert invoice.status is InvoiceStatus.VOID


def test_void_conflict(mock_gw: invoicekit.Gateway, recorder: Recorder) -> None:
    recorder.reply(409, {"detail": "Only open invoices can be voided"})
    with pytest.raises(errors.Conflict) as info:
        mock_gw.void_invoice(INVOICE_ID)
    assert info.value.status == 409
    assert info.value.message == "Only open invoices can be voided"
    assert len(recorder.requests) == 1  # a write is never repeated


def test_void_acknowledgement_only_rereads(mock_gw: invoicekit.Gateway,
                                           recorder: Recorder) -> None:
    recorder.reply(200, {"success": True})
    recorder.reply(200, {"items": [wire_invoice(status="void")], "has_next": False})
    assert mock_gw.void_invoice(INVOICE_ID).status is InvoiceStatus.VOID
    assert [r.method for r in recorder.requests] == ["PUT", "GET"]


def test_void_whose_reread_fails_returns_what_is_known(mock_gw: invoicekit.Gateway,
                                                       recorder: Recorder) -> None:
    """The void happened (a 2xx): a failed read-back must not turn it into an error."""
    recorder.reply(200, {"success": True, "message": "Invoice voided"})
    for _ in range(3):  # the read and its two retries
        recorder.reply(503, {"detail": "Service Unavailable"})
    invoice = mock_gw.void_invoice(INVOICE_ID)
    assert [r.method for r in recorder.requests] == ["PUT", "GET", "GET", "GET"]
    assert (invoice.id, invoice.provider, invoice.status, invoice.provider_status) == (
        INVOICE_ID, "dayzero", InvoiceStatus.VOID, "void")
    assert invoice.raw == {"success": True, "message": "Invoice voided"}


def test_void_of_an_invoice_object_keeps_what_it_knew(mock_gw: invoicekit.Gateway,
                                                      recorder: Recorder) -> None:
    recorder.reply(200, {"items": [wire_invoice(status="open")], "has_next": False})
    known = mock_gw.get_invoice(INVOICE_ID)
    recorder.reply(200, {"success": True})
    recorder.reply(200, {"items": [], "has_next": False})  # not found (yet)
    invoice = mock_gw.void_invoice(known)
    assert invoice.status is InvoiceStatus.VOID
    assert (invoice.number, invoice.total) == ("INV-007", known.total)


def test_success_false_to_a_create_is_outcome_unknown(mock_gw: invoicekit.Gateway,
                                                      recorder: Recorder) -> None:
    recorder.reply(201, {"success": False, "message": "Could not save the invoice",
                         "code": 500, "data": None})
    with pytest.raises(errors.OutcomeUnknown) as info:
        mock_gw.create_invoice(make_draft(1, customer=Customer(id=CUSTOMER_ID)))
    assert (info.value.message, info.value.code) == ("Could not save the invoice", "500")
    assert len(recorder.requests) == 1  # a write is never repeated


def test_success_false_to_a_read_is_a_provider_error(mock_gw: invoicekit.Gateway,
                                                     recorder: Recorder) -> None:
    recorder.reply(200, {"success": False, "message": "Business suspended", "code": "E1",
                         "data": None})
    with pytest.raises(errors.ProviderError) as info:
        mock_gw.get_invoice(INVOICE_ID)
    # the provider's refusal as such: not a 5xx-like outage that a retry could fix
    assert type(info.value) is errors.ProviderError
    assert (info.value.status, info.value.code, info.value.message) == (
        200, "E1", "Business suspended")


def test_send_with_cc_and_pdf(mock_gw: invoicekit.Gateway, recorder: Recorder) -> None:
    recorder.reply(200, {"items": [wire_invoice(status="open")], "has_next": False})
    recorder.reply(201, load_fixture("send_invoice_201.json"))
    receipt = mock_gw.send_invoice(INVOICE_ID, SendOptions(cc_sender=True, attach_pdf=True))
    read, send = recorder.requests
    assert read.method == "GET"
    assert dict(read.url.params)["id"] == INVOICE_ID
    assert (send.method, str(send.url)) == ("POST", f"{BASE}/invoices/{INVOICE_ID}/send")
    assert_headers(send)
    assert body(send) == {"cc_sender": True, "attach_pdf": True}
    assert receipt.sent
    assert receipt.cc == "owner@example.com"
    assert receipt.pdf_attached is True


def test_send_an_invoice_object_needs_no_read(mock_gw: invoicekit.Gateway,
                                              recorder: Recorder) -> None:
    recorder.reply(200, {"items": [wire_invoice(status="open")], "has_next": False})
    invoice = mock_gw.get_invoice(INVOICE_ID)
    recorder.reply(201, load_fixture("send_invoice_201.json"))
    mock_gw.send_invoice(invoice)
    assert [r.method for r in recorder.requests] == ["GET", "POST"]
    assert body(recorder.last) == {"cc_sender": False}  # attach_pdf left to DayZero


def test_send_draft_is_refused_before_any_send(mock_gw: invoicekit.Gateway,
                                               recorder: Recorder) -> None:
    recorder.reply(200, {"items": [wire_invoice(status="draft", number=None)],
                         "has_next": False})
    with pytest.raises(errors.InvalidRequest, match="draft"):
        mock_gw.send_invoice(INVOICE_ID)
    assert [r.method for r in recorder.requests] == ["GET"]


def test_send_draft_auto_finalize(mock_gw: invoicekit.Gateway, recorder: Recorder) -> None:
    recorder.reply(200, {"items": [wire_invoice(status="draft", number=None)],
                         "has_next": False})
    recorder.reply(200, wire_invoice(status="open"))
    recorder.reply(201, load_fixture("send_invoice_201.json"))
    mock_gw.send_invoice(INVOICE_ID, SendOptions(auto_finalize=True, attach_pdf=False))
    assert [(r.method, r.url.path) for r in recorder.requests] == [
        ("GET", "/api/v1/invoices"),
        ("POST", f"/api/v1/invoices/{INVOICE_ID}/finalize"),
        ("POST", f"/api/v1/invoices/{INVOICE_ID}/send"),
    ]
    assert body(recorder.last) == {"cc_sender": False, "attach_pdf": False}


def test_pdf_url(mock_gw: invoicekit.Gateway, recorder: Recorder) -> None:
    recorder.reply(200, {"url": "https://files.ondayzero.com/x.pdf?sig=1", "expires_in": 900})
    url = mock_gw.get_pdf_url(INVOICE_ID)
    assert (recorder.last.method, str(recorder.last.url)) == (
        "GET", f"{BASE}/invoices/{INVOICE_ID}/pdf")
    assert_headers(recorder.last)
    assert url == "https://files.ondayzero.com/x.pdf?sig=1"


@pytest.mark.parametrize("bad", ["../invoices", "123", INVOICE_ID + "\r\nx: y",
                                 "3fa85f64-5717-4562-b3fc-2c963f66afa6/void", ""])
def test_ids_are_checked_before_any_request(mock_gw: invoicekit.Gateway, recorder: Recorder,
                                            bad: str) -> None:
    for call in (mock_gw.get_invoice, mock_gw.void_invoice, mock_gw.finalize_invoice,
                 mock_gw.get_pdf_url, mock_gw.send_invoice):
        with pytest.raises(errors.InvalidRequest, match="not a valid DayZero id"):
            call(bad)
    with pytest.raises(errors.InvalidRequest,
                       match=f"^dayzero: {re.escape(repr(bad or 'x'))} is not a valid DayZero id"):
        list(mock_gw.list_invoices(InvoiceQuery(customer_id=bad or "x")))
    assert recorder.requests == []


@pytest.mark.anyio
async def test_async_gateway_sends_the_same_requests(recorder: Recorder) -> None:
    recorder.reply(200, {"items": [wire_invoice(status="open")], "has_next": False})
    recorder.reply(201, load_fixture("send_invoice_201.json"))
    client = recorder.async_client()
    async with invoicekit.connect_async("dayzero", token=TOKEN, business_id=BUSINESS,
                                        user_email="owner@example.com",
                                        http_client=client) as agw:
        receipt = await agw.send_invoice(INVOICE_ID, SendOptions(cc_sender=True))
    await client.aclose()
    assert_headers(recorder.last)
    assert body(recorder.last) == {"cc_sender": True}
    assert receipt.message_id is not None


def test_a_listing_answered_with_a_bare_array_names_what_was_expected(
        mock_gw: invoicekit.Gateway, recorder: Recorder) -> None:
    recorder.reply(200, [1, 2])
    # The body is quoted as sent; httpx before 0.28 writes `[1, 2]`, later ones `[1,2]`.
    with pytest.raises(errors.ProviderUnavailable) as info:
        list(mock_gw.list_invoices())
    assert info.value.status == 200
    assert re.fullmatch(r"expected an invoice list page object from DayZero, got list "
                        r"\(HTTP 200, body: \[1, ?2\]\)", info.value.message)
