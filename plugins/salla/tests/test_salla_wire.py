"""Salla's wire quirks, drafts refused locally, and its error envelope -> the error tree."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from invoicekit import InvoiceDraft, InvoiceKind, Money, Request, Response, errors
from invoicekit_salla import SallaProvider
from invoicekit_salla._errors import error_from_response, normalise_fields, scope_of
from invoicekit_salla._wire import WireFormatError, kind_from_label, to_invoice

Drive = Callable[..., tuple[list[Any], Any]]
QR = "AQVTYWxsYQIKMTIzNDU2Nzg5MQMUMjAyMS0wNy0xMlQxNDoyNTowOVoEBjEwMC4wMAUFMTUuMDA="


def _amount(value: Any, currency: str | None = "SAR") -> dict[str, Any]:
    return {"amount": value} if currency is None else {"amount": value, "currency": currency}


def test_sub_total_and_subtotal_are_both_read() -> None:
    a = to_invoice({"id": 1, "sub_total": _amount(10)})
    b = to_invoice({"id": 1, "subtotal": _amount("10.00")})
    assert a.subtotal == b.subtotal == Money("10", "SAR")


def test_numbers_and_numeric_strings_are_exact_decimals() -> None:
    invoice = to_invoice({"id": "7", "total": _amount("1234567.89"),
                          "tax": {"percent": "15.00", "amount": _amount(Decimal("0.1"))},
                          "items": [{"name": "x", "quantity": "2", "id": 5,
                                     "price": _amount("0.30")}]})
    assert invoice.total is not None
    assert invoice.total.amount == Decimal("1234567.89")
    assert invoice.tax_rate == Decimal("15.00")
    assert invoice.items[0].quantity == Decimal(2)
    assert invoice.items[0].unit_price.amount == Decimal("0.30")


def test_riyal_abbreviation_and_missing_currency() -> None:
    invoice = to_invoice({"id": 1, "total": _amount(5, "ر.س"), "cod_cost": _amount(0, None)})
    assert invoice.currency == "SAR"
    assert invoice.cash_on_delivery == Money("0", "SAR")
    assert to_invoice({"id": 1}).currency == "SAR"


@pytest.mark.parametrize(("label", "kind"), [
    ("Tax Invoice", InvoiceKind.INVOICE), ("tax_invoice", InvoiceKind.INVOICE),
    ("Credit Note", InvoiceKind.CREDIT_NOTE), ("credit_note", InvoiceKind.CREDIT_NOTE),
    ("إشعار دائن", InvoiceKind.CREDIT_NOTE), ("Simplified Tax Invoice", InvoiceKind.INVOICE),
    (None, InvoiceKind.INVOICE),
])
def test_type_labels(label: str | None, kind: InvoiceKind) -> None:
    assert kind_from_label(label) is kind


def test_qr_code_kept_only_when_readable() -> None:
    assert to_invoice({"id": 1, "qr_code": QR}).qr_code == QR
    for placeholder in (None, "", "SAVE20", "null", "AQ=="):
        assert to_invoice({"id": 1, "qr_code": placeholder}).qr_code is None


def test_list_entry_without_number_uuid_qr() -> None:
    invoice = to_invoice({"id": 3, "order_id": 4, "type": "Credit Note", "date": ""})
    assert invoice.number is None
    assert invoice.issue_date is None
    assert invoice.kind is InvoiceKind.CREDIT_NOTE


def test_unknown_fields_are_kept_in_raw() -> None:
    payload = {"id": 1, "brand_new_field": {"nested": [1, 2]}, "customer": {"name": "ن"}}
    invoice = to_invoice(payload)
    assert invoice.raw["brand_new_field"] == {"nested": [1, 2]}
    assert invoice.raw["customer"] == {"name": "ن"}
    with pytest.raises(TypeError, match="does not support item assignment"):
        invoice.raw["id"] = 2  # type: ignore[index]


@pytest.mark.parametrize(("payload", "path", "message"), [
    ({"id": 1.5}, "id", "id: expected a string or an integer, got a float"),
    ({"id": True}, "id", "id: expected a string or an integer, got a boolean"),
    ({}, "id", "id: missing: an invoice needs an id"),
    ({"id": 1, "total": {"amount": "abc"}}, "total.amount", "total.amount: 'abc' is not an amount"),
    ({"id": 1, "total": {"amount": 1, "currency": "XYZ"}}, "total.currency",
     "total.currency: unknown currency 'XYZ': expected an ISO 4217 code such as 'SAR'"),
    ({"id": 1, "items": [{"name": "x"}]}, "items[0].price",
     "items[0].price: missing: an item needs a price"),
    ({"id": 1, "items": "nope"}, "items", "items: expected a list of items, got a string"),
    ({"id": 1, "date": "yesterday"}, "date", "date: 'yesterday' is not a YYYY-MM-DD date"),
    ([], "", "expected an invoice object, got a list"),
    ("x", "", "expected an invoice object, got a string"),
])
def test_malformed_payloads_raise_wire_format_error(payload: Any, path: str,
                                                    message: str) -> None:
    with pytest.raises(WireFormatError) as caught:
        to_invoice(payload)
    assert (caught.value.path, str(caught.value)) == (path, message)


@pytest.mark.parametrize("body", [
    b"", b"<html>oops</html>", b"[]", b'{"status":200,"success":true}',
    b'{"status":200,"success":true,"data":{"id":"x/y","total":{"amount":"nan?"}}}',
    b'{"success":true,"data":{"id":1,"total":{"amount":1,"currency":"???"}}}',
    b'{"success":true,"data":[1,2]}', b"\xff\xfe",
])
def test_malformed_answers_become_provider_unavailable(provider: SallaProvider, drive: Drive,
                                                       body: bytes) -> None:
    op = provider.get_invoice("1")
    request = next(op)
    response = Response(200, {"content-type": "application/json"}, body, request, "salla")
    with pytest.raises(errors.ProviderUnavailable) as caught:
        op.send(response)
    assert not isinstance(caught.value, errors.OutcomeUnknown), "a GET is not a write"


def test_malformed_create_answer_is_outcome_unknown(provider: SallaProvider,
                                                   data_draft: Callable[..., InvoiceDraft]
                                                   ) -> None:
    op = provider.create_invoice(provider.check_draft(data_draft("1", "N")))
    request = next(op)
    with pytest.raises(errors.OutcomeUnknown,
                       match=r"expected data in Salla's \{status, success, data\} envelope "
                             r"\(HTTP 200, body: \{\}\); the write may or may not have happened"):
        op.send(Response(200, {"content-type": "application/json"}, b"{}", request, "salla"))


def test_list_page_links_as_list_or_object(provider: SallaProvider, drive: Drive) -> None:
    from invoicekit import InvoiceQuery

    entry = {"id": 9, "order_id": 1, "type": "Tax Invoice"}
    for links, current, total, expected in (([], 1, 1, None), ({}, 1, 3, "2"),
                                            ({"next": "u"}, 2, 3, "3"), ({"previous": "u"}, 3, 3,
                                                                        None)):
        body = {"status": 200, "success": True, "data": [entry], "pagination": {
            "count": 1, "total": 3, "perPage": 1, "currentPage": current, "totalPages": total,
            "links": links}}
        _, page = drive(provider.list_page(InvoiceQuery(), str(current)), [(200, body)])
        assert page.next_cursor == expected
        assert [i.id for i in page.items] == ["9"]
    body = {"status": 200, "success": True, "data": [], "pagination": {
        "currentPage": 1, "links": {"next": "u"}}}
    _, page = drive(provider.list_page(InvoiceQuery(), None), [(200, body)])
    assert page.next_cursor == "2", "without totalPages, links.next says there is more"


# ---- drafts refused locally ------------------------------------------------------------------
@pytest.mark.parametrize(("draft", "field"), [
    (InvoiceDraft(), "order_id"),
    (InvoiceDraft(order_id="12a", from_order=True), "order_id"),
    (InvoiceDraft(order_id="1", from_order=True, currency="USD"), "currency"),
    (InvoiceDraft(order_id="1", document_url="https://x.example/invoice.html"), "document_url"),
    (InvoiceDraft(order_id="1", document_url="https://x.example/a.pdf?sig=1"), "document_url"),
    (InvoiceDraft(order_id="1", document_url="ftp://x.example/a.pdf"), "document_url"),
    (InvoiceDraft(order_id="1", total=Money("1", "SAR")), "number"),
    (InvoiceDraft(order_id="1", number="N", subtotal=Money("-1", "SAR"), total=Money("1", "SAR"),
                  tax_rate=Decimal(0), tax=Money("0", "SAR")), "subtotal"),
])
def test_check_draft_refuses_what_salla_would(provider: SallaProvider, draft: InvoiceDraft,
                                              field: str) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        provider.check_draft(draft)
    assert field in caught.value.fields


def test_check_draft_lists_every_missing_data_field(provider: SallaProvider) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        provider.check_draft(InvoiceDraft(order_id="1"))
    assert sorted(caught.value.fields) == ["number", "subtotal", "tax", "tax_rate", "total"]


def test_check_draft_fills_zero_shipping_and_cod(provider: SallaProvider) -> None:
    draft = InvoiceDraft(order_id="1", number="N", subtotal=Money("10", "SAR"),
                         total=Money("11.5", "SAR"), tax_rate=Decimal(15),
                         tax=Money("1.5", "SAR"))
    checked = provider.check_draft(draft)
    assert checked.shipping == Money("0", "SAR")
    assert checked.cash_on_delivery == Money("0", "SAR")
    assert checked.total == draft.total


# ---- errors ------------------------------------------------------------------------------------
def _response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return Response(status, headers or {}, content, Request("GET", "/x"), "salla",
                    request_id="req-1")


def _envelope(status: int, message: str, fields: Any = None, code: str = "error") -> Any:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        error["fields"] = fields
    return {"status": status, "success": False, "error": error}


@pytest.mark.parametrize(("fields", "cls"), [
    ({"type": ["An invoice has already been issued for this order"]}, errors.Conflict),
    ({"invoice_number": ["The invoice number is duplicated"]}, errors.Conflict),
    # Spelling variants (hamza on the alef, tanween) are the same sentence.
    ({"type": ["تم إصدار فاتورة للطلب سابقاً"]}, errors.Conflict),
    ({"type": ["تم إصدار فاتورة للطلب سابقا"]}, errors.Conflict),
    ({"url": ["The url must end with one of the following: .pdf"]}, errors.ValidationError),
])
def test_422_conflicts_by_text_not_code(fields: Any, cls: type[errors.ProviderError]) -> None:
    err = error_from_response(_response(422, _envelope(422, "alert.invalid_fields", fields)),
                              provider="salla")
    assert type(err) is cls
    assert err.request_id == "req-1"


def test_401_without_scope_is_authentication_error() -> None:
    err = error_from_response(_response(401, _envelope(401, "The access token is invalid.",
                                                       code="Unauthorized")), provider="salla")
    assert type(err) is errors.AuthenticationError


def test_scope_parsing() -> None:
    assert scope_of("The access token should have access to one of those scopes: "
                    "orders.read, orders.read_write") == "orders.read"
    assert scope_of("nothing here") is None


def test_fields_normalised_from_any_shape() -> None:
    assert normalise_fields([]) == {}
    assert normalise_fields(None) == {}
    assert normalise_fields({"a": "one", "b": ["x", 2], "c": None}) == {
        "a": ["one"], "b": ["x", "2"]}


@pytest.mark.parametrize(("status", "body", "cls"), [
    (500, b"<html>Bad gateway</html>", errors.ProviderUnavailable),
    (503, b"", errors.ProviderUnavailable),
    (429, _envelope(429, "Too Many Attempts.", code="Too Many Requests"), errors.RateLimited),
    (403, {"message": "Forbidden"}, errors.PermissionDenied),
    (400, {"error": "invalid_grant", "error_description": "The refresh token is invalid."},
     errors.ValidationError),
    (418, b"\xff", errors.ProviderError),
])
def test_odd_error_bodies_never_crash(status: int, body: Any,
                                      cls: type[errors.ProviderError]) -> None:
    err = error_from_response(_response(status, body), provider="salla")
    assert type(err) is cls
    assert err.status == status
    assert err.message


def test_oauth_error_keeps_its_code() -> None:
    err = error_from_response(_response(400, {"error": "invalid_grant",
                                              "error_description": "spent"}), provider="salla")
    assert err.code == "invalid_grant"
    assert err.message == "spent"


# ---- the rules module --------------------------------------------------------------------------
def test_check_draft_reports_every_problem_at_once_through_draft_problems() -> None:
    from invoicekit_salla import _rules

    draft = InvoiceDraft(order_id="12a", currency="USD", document_url="https://x.example/a.PDF")
    with pytest.raises(errors.InvalidRequest) as caught:
        _rules.check_draft(draft)
    assert caught.value.fields == {
        "order_id": ["'12a' is not a Salla order id (digits)"],
        "currency": ["Salla invoices are in SAR, not USD"],
        "document_url": ["must be an http(s) URL ending in .pdf (Salla accepts PDF links only)"],
    }
    assert str(caught.value).startswith("salla: draft refused before sending: order_id: ")


def test_provider_check_draft_is_the_rules_module() -> None:
    from invoicekit_salla import SALLA_ID, _rules

    provider = SallaProvider(token="t-123456")
    draft = InvoiceDraft(order_id="1", number="N", subtotal=Money("10", "SAR"),
                         total=Money("11.5", "SAR"), tax_rate=Decimal(15), tax=Money("1.5", "SAR"))
    assert provider.check_draft(draft) == _rules.check_draft(draft)
    assert SALLA_ID is _rules.SALLA_ID
    assert [f.wire for f in _rules.DATA_FIELDS] == [
        "invoice_number", "sub_total", "total", "shipping_cost", "cash_on_delivery_cost", "tax",
        "tax_value"]
