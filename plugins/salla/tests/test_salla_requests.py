"""Each operation's request, pinned: method, path, headers and body (sans-IO and on the wire)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

import invoicekit
from invoicekit import (
    Capability,
    Invoice,
    InvoiceDraft,
    InvoiceKind,
    InvoiceQuery,
    InvoiceStatus,
    Money,
    SendOptions,
    errors,
)
from invoicekit.provider import json_body
from invoicekit_salla import SallaProvider

Drive = Callable[..., tuple[list[Any], Any]]
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"
ENVELOPE = {"status": 200, "success": True}
DETAILS = {"id": 11, "order_id": 22, "type": "Tax Invoice",
           "total": {"amount": 1, "currency": "SAR"}}


def _ok(data: Any, **extra: Any) -> dict[str, Any]:
    return {**ENVELOPE, "data": data, **extra}


# ---- sans-IO: the Request objects -----------------------------------------------------------
def test_create_data_request(provider: SallaProvider, drive: Drive,
                             data_draft: Callable[..., InvoiceDraft]) -> None:
    draft = provider.check_draft(data_draft("1000001", "INV-7", price="90.50", quantity=2))
    requests, _ = drive(provider.create_invoice(draft), [(200, _ok(DETAILS))])
    (req,) = requests
    assert (req.method, req.path, req.path_params) == ("POST", "/orders/invoices", {})
    assert req.is_write
    assert req.files is None
    assert req.data is None
    assert req.json == {
        "order_id": 1000001, "type": "tax_invoice", "data_type": "data",
        "invoice_number": "INV-7", "sub_total": Decimal("181.00"), "total": Decimal("234.60"),
        "shipping_cost": Decimal("23"), "cash_on_delivery_cost": Decimal("0"),
        "tax": Decimal("15"), "tax_value": Decimal("30.60"),
    }
    assert isinstance(req.json["order_id"], int), "order_id is an integer, as documented"


def test_create_credit_note_from_order_request(provider: SallaProvider, drive: Drive) -> None:
    draft = InvoiceDraft(kind=InvoiceKind.CREDIT_NOTE, order_id="42", from_order=True)
    requests, invoice = drive(provider.create_invoice(provider.check_draft(draft)),
                              [(200, _ok({**DETAILS, "type": "Credit Note"}))])
    assert requests[0].json == {"order_id": 42, "type": "credit_note", "data_type": "order"}
    assert invoice.kind is InvoiceKind.CREDIT_NOTE


def test_create_url_request(provider: SallaProvider, drive: Drive) -> None:
    draft = InvoiceDraft(order_id="42", document_url="https://cdn.example.sa/inv/42.pdf",
                         number="ignored-for-url", total=Money("10", "SAR"))
    requests, _ = drive(provider.create_invoice(provider.check_draft(draft)),
                        [(200, _ok(DETAILS))])
    assert requests[0].json == {"order_id": 42, "type": "tax_invoice", "data_type": "url",
                                "url": "https://cdn.example.sa/inv/42.pdf"}


def test_create_file_request_is_multipart(provider: SallaProvider, drive: Drive) -> None:
    draft = InvoiceDraft(kind=InvoiceKind.CREDIT_NOTE, order_id="42", document_pdf=PDF)
    requests, _ = drive(provider.create_invoice(provider.check_draft(draft)),
                        [(200, _ok(DETAILS))])
    (req,) = requests
    assert req.json is None
    assert req.data == {"order_id": "42", "type": "credit_note", "data_type": "file"}
    assert req.files == {"file": ("invoice-42.pdf", PDF, "application/pdf")}


def test_get_request(provider: SallaProvider, drive: Drive) -> None:
    requests, _ = drive(provider.get_invoice("1128904162"), [(200, _ok(DETAILS))])
    (req,) = requests
    assert (req.method, req.path) == ("GET", "/orders/invoices/{invoice_id}")
    assert req.render_path() == "/orders/invoices/1128904162"
    assert not req.is_write
    assert req.json is None


def test_list_request_parameters(provider: SallaProvider, drive: Drive) -> None:
    query = InvoiceQuery(from_date=dt.date(2024, 1, 1), to_date=dt.date(2024, 1, 31),
                         order_id="77", page_size=25)
    requests, page = drive(provider.list_page(query, "3"), [(200, _ok([], pagination={
        "count": 0, "total": 50, "perPage": 25, "currentPage": 3, "totalPages": 2,
        "links": []}))])
    (req,) = requests
    assert (req.method, req.path) == ("GET", "/orders/invoices")
    assert req.params == {"page": "3", "per_page": 25, "from_date": "2024-01-01",
                          "to_date": "2024-01-31", "order_id": "77"}
    assert page.next_cursor is None


def test_list_first_page_has_page_one(provider: SallaProvider, drive: Drive) -> None:
    requests, _ = drive(provider.list_page(InvoiceQuery(), None), [(200, _ok([]))])
    assert requests[0].params == {"page": "1"}


def test_send_with_invoice_uses_its_order(provider: SallaProvider, drive: Drive) -> None:
    invoice = Invoice(id="11", provider="salla", order_id="22")
    requests, receipt = drive(provider.send_invoice(invoice, SendOptions()),
                              [(200, _ok({"message": "ok"}))])
    (req,) = requests
    assert (req.method, req.render_path()) == ("POST", "/orders/22/send-invoice")
    assert req.json is None
    assert req.is_write
    assert receipt.invoice_id == "11"


def test_send_by_id_looks_the_order_up(provider: SallaProvider, drive: Drive) -> None:
    requests, receipt = drive(provider.send_invoice("11", SendOptions()),
                              [(200, _ok(DETAILS)), (200, _ok({"message": "ok"}))])
    assert [(r.method, r.render_path()) for r in requests] == [
        ("GET", "/orders/invoices/11"), ("POST", "/orders/22/send-invoice")]
    assert receipt.message == "ok"


def test_send_refuses_another_providers_invoice(provider: SallaProvider, drive: Drive) -> None:
    invoice = Invoice(id="11", provider="dayzero", order_id="22")
    with pytest.raises(errors.InvalidRequest, match="dayzero"):
        drive(provider.send_invoice(invoice, SendOptions()), [])


@pytest.mark.parametrize("hostile", [
    "../1", "1/send-invoice", "1?x=1", "1%2F2", "1 ", "\u0661\u0662", "1\r\nX: y", "", "-1",
    "1" * 20, "0x10",
])
def test_hostile_ids_never_reach_a_request(provider: SallaProvider, drive: Drive,
                                           hostile: str) -> None:
    for op in (provider.get_invoice(hostile), provider.send_invoice(hostile, SendOptions()),
               provider.list_page(InvoiceQuery(order_id=hostile), None),
               provider.send_invoice(Invoice(id="1", provider="salla", order_id=hostile),
                                     SendOptions())):
        with pytest.raises(errors.InvalidRequest, match=(
                f"^salla: {re.escape(repr(hostile))} is not a valid Salla id \\(digits\\)$")):
            drive(op, [])


def test_hostile_cursor_is_refused(provider: SallaProvider, drive: Drive) -> None:
    with pytest.raises(errors.InvalidRequest,
                       match=r"^salla: '2&per_page=1000' is not a valid Salla id \(digits\)$"):
        drive(provider.list_page(InvoiceQuery(), "2&per_page=1000"), [])


def test_status_filter_is_answered_locally(provider: SallaProvider, drive: Drive) -> None:
    requests, page = drive(provider.list_page(InvoiceQuery(status=InvoiceStatus.VOID), None), [])
    assert requests == []
    assert page.items == ()
    requests, _ = drive(provider.list_page(InvoiceQuery(status=InvoiceStatus.ISSUED), None),
                        [(200, _ok([]))])
    assert len(requests) == 1


@pytest.mark.parametrize(("query", "name"), [(InvoiceQuery(customer_id="5"), "customer_id"),
                                           (InvoiceQuery(search="x"), "search")])
def test_filters_salla_lacks_are_unsupported(provider: SallaProvider, drive: Drive,
                                             query: InvoiceQuery, name: str) -> None:
    with pytest.raises(errors.UnsupportedFeature, match=(
            f"^salla: salla cannot filter invoices by {name}; "
            "filter by from_date, to_date or order_id$")):
        drive(provider.list_page(query, None), [])


# ---- on the wire: headers and bytes ------------------------------------------------------------
@pytest.fixture
def wire() -> Iterator[tuple[list[httpx.Request], Callable[..., invoicekit.Gateway]]]:
    """Gateways whose requests are captured by an `httpx.MockTransport`."""
    seen: list[httpx.Request] = []
    clients: list[httpx.Client] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/send-invoice"):
            return httpx.Response(200, json=_ok({"message": "تم"}))
        if request.method == "GET" and request.url.path.endswith("/orders/invoices"):
            return httpx.Response(200, json=_ok([], pagination={"currentPage": 1,
                                                                "totalPages": 1}))
        return httpx.Response(200, json=_ok(DETAILS))

    def make(**settings: Any) -> invoicekit.Gateway:
        client = httpx.Client(transport=httpx.MockTransport(handler))
        clients.append(client)
        return invoicekit.connect("salla", token="tok-abcdef-123", http_client=client,
                                  **settings)

    yield seen, make
    for client in clients:
        client.close()


def test_wire_headers_and_json_body(wire: tuple[list[httpx.Request], Callable[..., Any]],
                                    data_draft: Callable[..., InvoiceDraft]) -> None:
    seen, make = wire
    gw = make()
    gw.create_invoice(data_draft("1000001", "INV-8", price="90.50"))
    (req,) = seen
    assert req.method == "POST"
    assert str(req.url) == "https://api.salla.dev/admin/v2/orders/invoices"
    assert req.headers["authorization"] == "Bearer tok-abcdef-123"
    assert req.headers["accept-language"] == "ar"
    assert req.headers["accept"] == "application/json"
    assert req.headers["content-type"] == "application/json"
    assert "invoicekit-salla" in req.headers["user-agent"]
    assert req.content == (
        b'{"order_id":1000001,"type":"tax_invoice","data_type":"data","invoice_number":"INV-8",'
        b'"sub_total":90.50,"total":130.53,"shipping_cost":23,"cash_on_delivery_cost":0,'
        b'"tax":15,"tax_value":17.03}')
    assert json.loads(req.content, parse_float=Decimal)["sub_total"] == Decimal("90.50")


def test_wire_language_en(wire: tuple[list[httpx.Request], Callable[..., Any]]) -> None:
    seen, make = wire
    make(language="en").get_invoice("5")
    assert seen[0].headers["accept-language"] == "en"
    assert str(seen[0].url) == "https://api.salla.dev/admin/v2/orders/invoices/5"


def test_wire_multipart_upload(wire: tuple[list[httpx.Request], Callable[..., Any]]) -> None:
    seen, make = wire
    make().create_invoice(InvoiceDraft(order_id="9", document_pdf=PDF))
    req = seen[0]
    assert req.headers["content-type"].startswith("multipart/form-data; boundary=")
    body = req.content
    assert b'name="order_id"\r\n\r\n9\r\n' in body
    assert b'name="data_type"\r\n\r\nfile\r\n' in body
    assert b'name="file"; filename="invoice-9.pdf"' in body
    assert b"Content-Type: application/pdf" in body
    assert PDF in body


def test_wire_list_query_string(wire: tuple[list[httpx.Request], Callable[..., Any]]) -> None:
    seen, make = wire
    list(make().list_invoices(InvoiceQuery(from_date=dt.date(2024, 2, 1), page_size=10)))
    assert seen[0].url.params == httpx.QueryParams(
        {"page": "1", "per_page": "10", "from_date": "2024-02-01"})


def test_wire_send(wire: tuple[list[httpx.Request], Callable[..., Any]]) -> None:
    seen, make = wire
    receipt = make().send_invoice(Invoice(id="3", provider="salla", order_id="4"))
    assert [(r.method, r.url.path) for r in seen] == [("POST", "/admin/v2/orders/4/send-invoice")]
    assert seen[0].content == b""
    assert receipt.message == "تم"


def test_cc_and_pdf_options_are_refused_before_any_request(
        wire: tuple[list[httpx.Request], Callable[..., Any]]) -> None:
    seen, make = wire
    gw = make()
    invoice = Invoice(id="3", provider="salla", order_id="4")
    assert not gw.supports(Capability.SEND_CC)
    assert not gw.supports(Capability.SEND_PDF)
    for options, feature in ((SendOptions(cc_sender=True), "send cc"),
                             (SendOptions(attach_pdf=True), "send pdf")):
        with pytest.raises(errors.UnsupportedFeature, match=(
                f"^salla: salla does not support {feature}; pass ignore_unsupported=True "
                r"\(gateway\.with_options\) to send without it$")):
            gw.send_invoice(invoice, options)
    assert seen == []
    gw.with_options(ignore_unsupported=True).send_invoice(invoice, SendOptions(cc_sender=True))
    assert len(seen) == 1


def test_void_explains_the_credit_note_way(
        wire: tuple[list[httpx.Request], Callable[..., Any]]) -> None:
    seen, make = wire
    with pytest.raises(errors.UnsupportedFeature, match="credit note") as caught:
        make().void_invoice("3")
    assert caught.value.feature == "void_invoice"
    assert seen == []


def test_json_body_writes_decimals_exactly() -> None:
    assert json_body({"a": Decimal("90.50"), "b": [Decimal("1E+2"), 1, "ر.س", None, True]}) == (
        '{"a":90.50,"b":[100,1,"ر.س",null,true]}'.encode())
    with pytest.raises(ValueError, match="JSON number"):
        json_body({"a": Decimal("NaN")})
