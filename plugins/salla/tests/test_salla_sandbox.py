"""Integration: the gateway against the Salla sandbox over real sockets, sync and async.

Every refused call is checked to leave the sandbox exactly as it was.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import httpx
import pytest

import invoicekit
from invoicekit import Invoice, InvoiceDraft, InvoiceKind, InvoiceQuery, Money, errors
from invoicekit.testing.sandbox import Fault, RateLimit
from invoicekit_salla import decode_qr
from invoicekit_salla.sandbox import (
    DEFAULT_TOKEN,
    FIRST_ORDER,
    NO_EMAIL_ORDER,
    READ_ONLY_TOKEN,
    SallaSandbox,
)

Connect = Callable[..., invoicekit.Gateway]
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
ORDER = str(FIRST_ORDER)


def unchanged(sandbox: SallaSandbox, before: dict[str, Any]) -> None:
    assert sandbox.snapshot() == before, "a refused call changed the sandbox"


# ---- the four data types, both kinds ------------------------------------------------------
def test_data_invoice_then_credit_note(gw: invoicekit.Gateway, sandbox: SallaSandbox,
                                       data_draft: Callable[..., InvoiceDraft]) -> None:
    draft = data_draft(ORDER, "INV-100")
    invoice = gw.create_invoice(draft)
    assert invoice.number == "INV-100"
    # 130.00 + 23 shipping, 15% VAT on 153.00 = 22.95: 175.95 SAR
    assert invoice.total == Money("175.95", "SAR")
    assert invoice.kind is InvoiceKind.INVOICE
    fetched = gw.get_invoice(invoice.id)
    assert fetched.total == Money("175.95", "SAR")
    assert fetched.tax == Money("22.95", "SAR")
    assert fetched.items[0].name == "شاحن آنكر 1000"
    qr = decode_qr(fetched.qr_code)
    assert qr is not None
    assert qr.total == Decimal("175.95")
    credit = gw.create_invoice(attrs.evolve(draft, kind=InvoiceKind.CREDIT_NOTE,
                                            number="CN-100"))
    assert credit.kind is InvoiceKind.CREDIT_NOTE
    assert [i["type"] for i in sandbox.invoices_of(ORDER)] == ["Tax Invoice", "Credit Note"]


@pytest.mark.parametrize("form", ["url", "file", "order"])
def test_document_forms_for_both_kinds(gw: invoicekit.Gateway, sandbox: SallaSandbox,
                                       http_client: httpx.Client, form: str) -> None:
    order = sandbox.add_order()
    forms: dict[str, dict[str, Any]] = {
        "url": {"document_url": "https://cdn.example.sa/inv.pdf"},
        "file": {"document_pdf": PDF}, "order": {"from_order": True}}
    extra = forms[form]
    invoice = gw.create_invoice(InvoiceDraft(order_id=order, **extra))
    credit = gw.create_invoice(InvoiceDraft(order_id=order, kind=InvoiceKind.CREDIT_NOTE,
                                            **extra))
    assert invoice.kind is InvoiceKind.INVOICE
    assert credit.kind is InvoiceKind.CREDIT_NOTE
    assert invoice.order_id == credit.order_id == order
    stored = sandbox.invoices_of(order)
    assert [i["data_type"] for i in stored] == [form, form]
    if form == "file":
        assert sandbox.files[invoice.id] == PDF
        assert invoice.pdf_url is not None
        assert http_client.get(invoice.pdf_url).content == PDF
    if form == "url":
        assert invoice.pdf_url == "https://cdn.example.sa/inv.pdf"
    if form == "order":
        assert invoice.number is not None
        assert invoice.total is not None
        assert decode_qr(gw.get_invoice(invoice.id).qr_code) is not None


# ---- listing -------------------------------------------------------------------------------
def test_listing_pages_lazily_to_the_last(gw: invoicekit.Gateway, sandbox: SallaSandbox) -> None:
    ids = {gw.create_invoice(InvoiceDraft(order_id=str(FIRST_ORDER + n), from_order=True)).id
           for n in range(5)}
    sandbox.clear_log()
    listing = gw.list_invoices(InvoiceQuery(page_size=2))
    first = next(listing)
    assert sandbox.count("GET") == 1, "one page fetched for the first invoice"
    rest = [first, *listing]
    assert {i.id for i in rest} == ids
    assert [r.query["page"] for r in sandbox.requests] == [["1"], ["2"], ["3"]]
    assert all(i.number is not None for i in rest)
    assert all(isinstance(i, Invoice) for i in rest)


def test_pagination_links_are_a_list_or_an_object(sandbox: SallaSandbox, gw: invoicekit.Gateway,
                                                  http_client: httpx.Client) -> None:
    for n in range(3):
        gw.create_invoice(InvoiceDraft(order_id=str(FIRST_ORDER + n), from_order=True))
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    url = f"{sandbox.url}/orders/invoices"
    only = http_client.get(url, params={"per_page": 5}, headers=headers).json()["pagination"]
    middle = http_client.get(url, params={"per_page": 1, "page": 2}, headers=headers).json()
    assert only["links"] == []
    assert set(middle["pagination"]["links"]) == {"next", "previous"}
    entry = middle["data"][0]
    assert "subtotal" in entry
    assert "uuid" not in entry
    assert "qr_code" not in entry


def test_list_filters(gw: invoicekit.Gateway, sandbox: SallaSandbox) -> None:
    sandbox.today = dt.date(2024, 1, 10)
    early = gw.create_invoice(InvoiceDraft(order_id=ORDER, from_order=True))
    sandbox.today = dt.date(2024, 2, 10)
    late = gw.create_invoice(InvoiceDraft(order_id=str(FIRST_ORDER + 1), from_order=True))
    january = InvoiceQuery(from_date=dt.date(2024, 1, 1), to_date=dt.date(2024, 1, 31))
    assert [i.id for i in gw.list_invoices(january)] == [early.id]
    assert [i.id for i in gw.list_invoices(InvoiceQuery(order_id=late.order_id))] == [late.id]
    assert [i.id for i in gw.list_invoices(InvoiceQuery(from_date=dt.date(2024, 2, 1)))] == [
        late.id]


# ---- send -----------------------------------------------------------------------------------
def test_send_by_invoice_and_by_id(gw: invoicekit.Gateway, sandbox: SallaSandbox) -> None:
    invoice = gw.create_invoice(InvoiceDraft(order_id=ORDER, from_order=True))
    sent: list[Any] = []
    gw.events.on_sent(sent.append)
    receipt = gw.send_invoice(invoice)
    assert receipt.sent
    assert receipt.message == "تم ارسال رسالة الفاتورة بنجاح"
    assert sandbox.count("POST", "send-invoice") == 1
    sandbox.clear_log()
    gw.send_invoice(invoice.id)
    assert [r.method for r in sandbox.requests] == ["GET", "POST"]
    assert [s.to for s in sandbox.sent] == ["customer1@example.sa"] * 2
    assert len(sent) == 2


def test_send_without_customer_email_fails_as_documented(gw: invoicekit.Gateway,
                                                         sandbox: SallaSandbox) -> None:
    invoice = gw.create_invoice(InvoiceDraft(order_id=NO_EMAIL_ORDER, from_order=True))
    not_sent: list[Any] = []
    gw.events.on_not_sent(not_sent.append)
    before = sandbox.snapshot()
    with pytest.raises(errors.ValidationError) as caught:
        gw.send_invoice(invoice)
    assert caught.value.message == "حصل خطأ غير متوقع يرجى إعادة المُحاولة لاحقاً"
    assert len(not_sent) == 1
    unchanged(sandbox, before)


# ---- bad input: the documented error, nothing changed ----------------------------------------
def test_non_pdf_url_refused_locally_and_by_the_sandbox(gw: invoicekit.Gateway,
                                                        sandbox: SallaSandbox) -> None:
    before = sandbox.snapshot()
    draft = InvoiceDraft(order_id=ORDER, document_url="https://cdn.example.sa/invoice.docx")
    with pytest.raises(errors.InvalidRequest) as caught:
        gw.create_invoice(draft)
    assert "document_url" in caught.value.fields
    assert sandbox.count() == 0, "refused before any request"
    # The sandbox enforces the rule too (a caller that skips the local check).
    with pytest.raises(errors.ValidationError) as remote:
        gw.run(gw.provider_object.create_invoice(draft))
    assert remote.value.fields == {"url": ["يجب أن ينتهي  عنوان (url)  بأحد القيم التالية: .pdf"]}
    unchanged(sandbox, before)


def test_credit_note_first(gw: invoicekit.Gateway, sandbox: SallaSandbox) -> None:
    before = sandbox.snapshot()
    with pytest.raises(errors.ValidationError) as caught:
        gw.create_invoice(InvoiceDraft(order_id=ORDER, kind=InvoiceKind.CREDIT_NOTE,
                                       from_order=True))
    assert caught.value.fields["type"] == [
        "لايمكن إصدار فاتورة مسترجع لطلب ليس لديه فاتورة ضرريبية"]
    unchanged(sandbox, before)


def test_duplicate_number_and_second_tax_invoice(gw: invoicekit.Gateway, sandbox: SallaSandbox,
                                                 data_draft: Callable[..., InvoiceDraft]) -> None:
    gw.create_invoice(data_draft(ORDER, "DUP-1"))
    before = sandbox.snapshot()
    with pytest.raises(errors.Conflict) as caught:
        gw.create_invoice(data_draft(str(FIRST_ORDER + 1), "DUP-1"))
    assert caught.value.fields == {"invoice_number": ["رقم الفاتورة مكرر"]}
    with pytest.raises(errors.Conflict) as again:
        gw.create_invoice(InvoiceDraft(order_id=ORDER, from_order=True))
    assert again.value.fields == {"type": ["تم اصدار فاتورة للطلب سابقا"]}
    unchanged(sandbox, before)


def test_missing_scope(connect: Connect, sandbox: SallaSandbox) -> None:
    gw = connect(token=READ_ONLY_TOKEN)
    before = sandbox.snapshot()
    with pytest.raises(errors.PermissionDenied) as caught:
        gw.create_invoice(InvoiceDraft(order_id=ORDER, from_order=True))
    assert caught.value.scope == "orders.read_write"
    assert caught.value.status == 401
    assert list(gw.list_invoices()) == [], "the read scope still reads"
    unchanged(sandbox, before)


def test_expired_token(gw: invoicekit.Gateway, sandbox: SallaSandbox) -> None:
    sandbox.expire_token()
    before = sandbox.snapshot()
    with pytest.raises(errors.AuthenticationError) as caught:
        gw.create_invoice(InvoiceDraft(order_id=ORDER, from_order=True))
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        401, "Unauthorized", "The access token is invalid or has expired.")
    unchanged(sandbox, before)


def test_wrong_order_and_missing_invoice(gw: invoicekit.Gateway, sandbox: SallaSandbox) -> None:
    before = sandbox.snapshot()
    with pytest.raises(errors.ValidationError) as caught:
        gw.create_invoice(InvoiceDraft(order_id="999999", from_order=True))
    assert caught.value.fields == {"order_id": ["رقم الطلب خاطئ . "]}
    with pytest.raises(errors.NotFound) as missing:
        gw.get_invoice("999999")
    assert missing.value.message == "المحتوى الذي تحاول الوصول اليه غير متوفر"
    unchanged(sandbox, before)


def test_hostile_ids_never_reach_the_sandbox(gw: invoicekit.Gateway,
                                             sandbox: SallaSandbox) -> None:
    for hostile in ("../../admin", "1/send-invoice", "1%2f", "1\r\n", "١٢٣"):
        refused = f"^salla: {re.escape(repr(hostile))} is not a valid Salla id \\(digits\\)$"
        with pytest.raises(errors.InvalidRequest, match=refused):
            gw.get_invoice(hostile)
        with pytest.raises(errors.InvalidRequest, match=refused):
            gw.send_invoice(hostile)
    assert sandbox.count() == 0


def test_english_messages(connect: Connect, sandbox: SallaSandbox) -> None:
    gw = connect(language="en")
    with pytest.raises(errors.ValidationError) as caught:
        gw.create_invoice(InvoiceDraft(order_id=ORDER, kind=InvoiceKind.CREDIT_NOTE,
                                       from_order=True))
    assert caught.value.fields["type"] == [
        "A credit note cannot be issued for an order without a tax invoice"]
    gw.create_invoice(InvoiceDraft(order_id=ORDER, from_order=True))
    with pytest.raises(errors.Conflict) as again:
        gw.create_invoice(InvoiceDraft(order_id=ORDER, from_order=True))
    assert again.value.fields == {"type": ["An invoice has already been issued for this order"]}
    assert sandbox.requests[-1].headers["accept-language"] == "en"


def test_sandbox_validation_messages(sandbox: SallaSandbox, http_client: httpx.Client) -> None:
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    url = f"{sandbox.url}/orders/invoices"
    empty = http_client.post(url, json={}, headers=headers)
    assert empty.status_code == 422
    assert empty.json()["error"]["fields"] == {
        "order_id": ["حقل order id مطلوب."], "type": ["حقل نوع الفاتورة مطلوب."],
        "data_type": ["حقل نوع بيانات الفاتورة  مطلوب."]}
    data = http_client.post(url, json={"order_id": FIRST_ORDER, "type": "tax_invoice",
                                 "data_type": "data", "total": "x"}, headers=headers).json()
    assert data["error"]["message"] == "alert.invalid_fields"
    assert set(data["error"]["fields"]) == {"invoice_number", "sub_total", "total",
                                            "shipping_cost", "cash_on_delivery_cost", "tax",
                                            "tax_value"}
    bad_file = http_client.post(url, data={"order_id": str(FIRST_ORDER), "type": "tax_invoice",
                                     "data_type": "file"},
                          files={"file": ("a.pdf", b"not a pdf", "application/pdf")},
                          headers=headers).json()
    assert bad_file["error"]["fields"] == {"file": ["يجب أن يكون حقل ملفًا من نوع : pdf."]}
    assert sandbox.invoices == {}


@pytest.mark.parametrize(("issuance", "form", "field"), [
    ("salla", {"document_url": "https://x.example/a.pdf"}, "invoice_provider"),
    ("custom", {"from_order": True}, "data_type"),
])
def test_store_issuance_setting(connect: Connect, issuance: str, form: dict[str, Any],
                                field: str) -> None:
    with SallaSandbox(issuance=issuance) as other:
        gw = connect(base_url=other.url)
        with pytest.raises(errors.ValidationError) as caught:
            gw.create_invoice(InvoiceDraft(order_id=ORDER, **form))
        assert list(caught.value.fields) == [field]
        assert other.invoices == {}


# ---- rate limits and faults -----------------------------------------------------------------
def test_rate_limit_headers_by_plan(connect: Connect, http_client: httpx.Client) -> None:
    with SallaSandbox(plan="plus") as limited:
        gw = connect(base_url=limited.url)
        list(gw.list_invoices())
        response = http_client.get(f"{limited.url}/orders/invoices",
                             headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"})
        assert response.headers["x-ratelimit-limit"] == "360"
        assert int(response.headers["x-ratelimit-remaining"]) == 358
        assert int(response.headers["x-ratelimit-reset"]) > 1_000_000_000
        assert gw.throttle.stats.requests == 1


def test_rate_limited_answer(connect: Connect) -> None:
    with SallaSandbox(rate_limit=RateLimit(2, 60, model="leaky")) as limited:
        gw = connect(base_url=limited.url, max_retries=0)
        list(gw.list_invoices())
        list(gw.list_invoices())
        with pytest.raises(errors.RateLimited) as caught:
            list(gw.list_invoices())
        assert caught.value.retry_after is not None
        assert caught.value.retry_after > 0
        assert caught.value.message == "Too Many Attempts."
        assert limited.rate_limit is not None
        assert limited.rate_limit.refused == 1


def test_read_retried_after_503(gw: invoicekit.Gateway, sandbox: SallaSandbox) -> None:
    invoice = gw.create_invoice(InvoiceDraft(order_id=ORDER, from_order=True))
    sandbox.faults.push(Fault.status_code(503, {"status": 503, "success": False}, method="GET"))
    assert gw.get_invoice(invoice.id).id == invoice.id
    assert sandbox.count("GET") == 2


def test_lost_create_answer_is_outcome_unknown(gw: invoicekit.Gateway,
                                               sandbox: SallaSandbox) -> None:
    sandbox.faults.push(Fault.lost_answer(method="POST"))
    with pytest.raises(errors.OutcomeUnknown, match=(
            r"^salla: POST /orders/invoices failed after it may have reached salla \(ReadError: "
            r".*\); the write may or may not have happened and was not repeated$")):
        gw.create_invoice(InvoiceDraft(order_id=ORDER, from_order=True))
    assert sandbox.count("POST") == 1, "a write is never repeated"
    assert len(sandbox.invoices_of(ORDER)) == 1, "the invoice was in fact created"


def test_truncated_and_html_answers(gw: invoicekit.Gateway, sandbox: SallaSandbox) -> None:
    sandbox.faults.push(Fault.status_code(200, "<html>maintenance</html>", method="GET",
                                          times=3))
    with pytest.raises(errors.ProviderUnavailable) as html:
        gw.get_invoice("1")
    assert (html.value.status, html.value.message) == (
        200, "expected a JSON response, got content type 'text/html; charset=utf-8' "
        "(HTTP 200, body: <html>maintenance</html>)")
    sandbox.faults.clear()
    sandbox.faults.push(Fault.truncate(method="POST"))
    with pytest.raises(errors.OutcomeUnknown, match=(
            r"^salla: POST /orders/\{order_id\}/send-invoice failed after it may have reached "
            r"salla \(ReadError: .*\); the write may or may not have happened and was not "
            r"repeated$")):
        gw.send_invoice(Invoice(id="1", provider="salla", order_id=ORDER))


# ---- async ----------------------------------------------------------------------------------
def test_async_end_to_end(sandbox: SallaSandbox, data_draft: Callable[..., InvoiceDraft]) -> None:
    async def main() -> None:
        async with invoicekit.connect_async("salla", **sandbox.settings()) as agw:
            created = await asyncio.gather(*(
                agw.create_invoice(data_draft(str(FIRST_ORDER + n), f"A-{n}"))
                for n in range(4)))
            assert sorted(i.number or "" for i in created) == ["A-0", "A-1", "A-2", "A-3"]
            fetched = await agw.get_invoice(created[0].id)
            assert fetched.total == created[0].total
            listed = [i.id async for i in agw.list_invoices(InvoiceQuery(page_size=3))]
            assert sorted(listed) == sorted(i.id for i in created)
            receipt = await agw.send_invoice(created[1].id)
            assert receipt.sent
            with pytest.raises(errors.Conflict) as duplicate:
                await agw.create_invoice(data_draft(str(FIRST_ORDER + 9), "A-0"))
            assert duplicate.value.fields == {"invoice_number": ["رقم الفاتورة مكرر"]}
            with pytest.raises(errors.UnsupportedFeature, match="credit note"):
                await agw.void_invoice(created[0].id)
            upload = await agw.create_invoice(InvoiceDraft(order_id=str(FIRST_ORDER + 10),
                                                           document_pdf=PDF))
            assert sandbox.files[upload.id] == PDF

    asyncio.run(main())
    assert len(sandbox.sent) == 1


def test_async_bad_input_changes_nothing(sandbox: SallaSandbox) -> None:
    before = sandbox.snapshot()

    async def main() -> None:
        async with invoicekit.connect_async("salla", **sandbox.settings(READ_ONLY_TOKEN)) as agw:
            with pytest.raises(errors.PermissionDenied) as scope:
                await agw.create_invoice(InvoiceDraft(order_id=ORDER, from_order=True))
            assert (scope.value.status, scope.value.message) == (
                401, "The access token should have access to one of those scopes: "
                "orders.read_write")
            with pytest.raises(errors.InvalidRequest) as refused:
                await agw.create_invoice(InvoiceDraft(order_id=ORDER,
                                                      document_url="https://x.example/a.png"))
            assert refused.value.fields == {"document_url": [
                "must be an http(s) URL ending in .pdf (Salla accepts PDF links only)"]}

    asyncio.run(main())
    unchanged(sandbox, before)


def test_money_stays_decimal_on_the_wire(gw: invoicekit.Gateway, sandbox: SallaSandbox) -> None:
    draft = InvoiceDraft(order_id=ORDER, number="EXACT-1", subtotal=Money("0.10", "SAR"),
                         total=Money("1234567890123.31", "SAR"), tax_rate=Decimal("15"),
                         tax=Money("0.20", "SAR"))
    invoice = gw.create_invoice(draft)
    assert invoice.total == Money("1234567890123.31", "SAR")
    assert b'"total":1234567890123.31' in sandbox.requests[-1].body
    assert gw.get_invoice(invoice.id).total == Money("1234567890123.31", "SAR")


# ---- the sandbox as the fake's salla profile --------------------------------------------------
def test_sample_draft_is_valid_creatable_and_sendable(gw: invoicekit.Gateway,
                                                      sandbox: SallaSandbox) -> None:
    sandbox.today = dt.date(2031, 5, 6)
    draft = sandbox.sample_draft(7)
    assert draft.number == "F-00007"
    assert draft.subtotal == Money("200.00", "SAR")
    assert draft.tax == Money("30.00", "SAR")
    assert draft.total == Money("230.00", "SAR")
    assert (draft.shipping, draft.cash_on_delivery) == (Money("0", "SAR"), Money("0", "SAR"))
    assert draft.tax_rate == Decimal(15)
    assert draft.issue_date == dt.date(2031, 5, 6)
    assert [(i.name, i.quantity, i.unit_price) for i in draft.items] == [
        ("منتج 7", Decimal(2), Money("100.00", "SAR"))]
    assert gw.check_draft(draft) == draft, "nothing to refuse, nothing to fill in"
    invoice = gw.create_invoice(draft)
    assert invoice.number == "F-00007"
    assert invoice.total == Money("230.00", "SAR")
    assert invoice.issue_date == dt.date(2031, 5, 6), "sandbox.today fixes the issue date"
    assert [(i.name, i.unit_price) for i in invoice.items] == [
        ("منتج 7", Money("100.00", "SAR"))], "the order's line is the draft's line"
    receipt = gw.send_invoice(invoice)
    assert receipt.sent is True
    assert [s.to for s in sandbox.sent] == ["customer7@example.sa"]


def test_sample_drafts_differ_for_each_n(gw: invoicekit.Gateway, sandbox: SallaSandbox) -> None:
    first, second = sandbox.sample_draft(1), sandbox.sample_draft(2)
    assert first.order_id != second.order_id
    assert first.number != second.number
    assert {gw.create_invoice(d).number for d in (first, second)} == {"F-00001", "F-00002"}


# ---- issue 13, item 10 (Salla part): every invoice has a number ----------------------------
def test_issue13_url_and_file_invoices_get_a_number(gw: invoicekit.Gateway,
                                                    sandbox: SallaSandbox) -> None:
    gw.create_invoice(InvoiceDraft(order_id=ORDER, from_order=True))  # store invoice no. 1
    by_url = gw.create_invoice(InvoiceDraft(order_id=str(FIRST_ORDER + 1),
                                            document_url="https://cdn.example.sa/a.pdf"))
    by_file = gw.create_invoice(InvoiceDraft(order_id=str(FIRST_ORDER + 2), document_pdf=PDF))
    assert gw.get_invoice(by_url.id).number == "2"
    assert gw.get_invoice(by_file.id).number == "3"
    listed = {i.id: i.number for i in gw.list_invoices()}
    assert listed == {by_file.id: "3", by_url.id: "2", str(int(by_url.id) - 1): "1"}


def test_store_numbers_skip_numbers_the_merchant_used(gw: invoicekit.Gateway,
                                                      data_draft: Callable[..., InvoiceDraft]
                                                      ) -> None:
    gw.create_invoice(data_draft(ORDER, "2"))
    by_url = gw.create_invoice(InvoiceDraft(order_id=str(FIRST_ORDER + 1),
                                            document_url="https://cdn.example.sa/a.pdf"))
    assert gw.get_invoice(by_url.id).number == "3", "2 is taken, as invoice count + 1 would be"


# ---- the sandbox applies the plugin's own rules (`_rules`) ----------------------------------
@pytest.mark.parametrize("url", ["ftp://cdn.example.sa/a.pdf", "https://cdn.example.sa/a.PDF",
                                 "https://cdn.example.sa/a b.pdf", "invoice.pdf"])
def test_sandbox_refuses_the_urls_check_draft_refuses(gw: invoicekit.Gateway,
                                                      sandbox: SallaSandbox, url: str) -> None:
    draft = InvoiceDraft(order_id=ORDER, document_url=url)
    with pytest.raises(errors.InvalidRequest) as local:
        gw.check_draft(draft)
    assert list(local.value.fields) == ["document_url"]
    with pytest.raises(errors.ValidationError) as remote:
        gw.run(gw.provider_object.create_invoice(draft))
    assert remote.value.fields == {"url": ["يجب أن ينتهي  عنوان (url)  بأحد القيم التالية: .pdf"]}
    assert sandbox.invoices == {}


@pytest.mark.parametrize("order_id", [f" {ORDER}", f"{ORDER}\n", "١٠٠٠٠٠١", "-1000001"])
def test_sandbox_takes_only_digit_order_ids(sandbox: SallaSandbox, http_client: httpx.Client,
                                            order_id: str) -> None:
    sandbox.orders[order_id] = {**sandbox.orders[ORDER], "id": order_id}  # a trap, if looked up
    answer = http_client.post(f"{sandbox.url}/orders/invoices", json={
        "order_id": order_id, "type": "tax_invoice", "data_type": "order"},
        headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"})
    assert answer.status_code == 422
    assert answer.json()["error"]["fields"] == {"order_id": ["رقم الطلب خاطئ . "]}
    assert sandbox.invoices == {}


def test_details_of_a_non_digit_id_is_not_found(sandbox: SallaSandbox,
                                                http_client: httpx.Client) -> None:
    answer = http_client.get(f"{sandbox.url}/orders/invoices/1100000001x",
                             headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"})
    assert answer.status_code == 404
    assert answer.json()["error"]["message"] == "المحتوى الذي تحاول الوصول اليه غير متوفر"
