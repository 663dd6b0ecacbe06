"""Every example response in Salla's published documents converts to the right values.

The files in `fixtures/` are the examples of `salla-create-invoice.md`,
`salla-invoice-details.md` and `salla-send-order-invoice.md`, copied verbatim.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from invoicekit import InvoiceDraft, InvoiceKind, InvoiceStatus, Money, SendOptions, errors
from invoicekit_salla import SallaProvider

FIXTURES = Path(__file__).parent / "fixtures"
Drive = Callable[..., tuple[list[Any], Any]]
SAR = "SAR"


def test_every_published_example_is_a_fixture() -> None:
    names = sorted(p.name for p in FIXTURES.glob("*.json"))
    assert len(names) == 24
    assert sum(n.startswith("create_") for n in names) == 15
    assert sum(n.startswith("details_") for n in names) == 6
    assert sum(n.startswith("send_") for n in names) == 3


def test_details_example(provider: SallaProvider, drive: Drive,
                         example: Callable[[str], Any]) -> None:
    _, invoice = drive(provider.get_invoice("1128904162"), [(200, example("details_200.json"))])
    assert invoice.id == "1128904162"
    assert invoice.provider == "salla"
    assert invoice.number == "1"
    assert invoice.order_id == "1152394206"
    assert invoice.kind is InvoiceKind.INVOICE
    assert invoice.status is InvoiceStatus.ISSUED
    assert invoice.issue_date == dt.date(2022, 6, 30)
    assert invoice.currency == SAR
    assert invoice.total == Money(Decimal("153"), SAR)
    assert invoice.subtotal == Money(Decimal("130"), SAR)
    assert invoice.shipping == Money(Decimal("23"), SAR)
    assert invoice.cash_on_delivery == Money(Decimal("0"), SAR)
    assert invoice.tax == Money(Decimal("0"), SAR)
    assert invoice.tax_rate == Decimal("0")
    assert invoice.payment_method == "bank"
    assert invoice.qr_code is None, "the placeholder 'SAVE20' is not a QR code"
    assert invoice.raw["qr_code"] == "SAVE20"
    assert invoice.raw["uuid"] == "acde070d-8c4c-4f0d-9d8a-162843c10333"
    assert invoice.raw["invoice_reference_id"] == "1233"
    (item,) = invoice.items
    assert item.name == "شاحن آنكر 1000"
    assert item.sku == "PRO-001"
    assert item.product_id == "977135276"
    assert item.quantity == Decimal(1)
    assert item.unit_price == Money(Decimal("130"), SAR)
    assert item.total == Money(Decimal("130"), SAR)
    assert item.kind == "product"


def test_create_data_example(provider: SallaProvider, drive: Drive,
                             example: Callable[[str], Any]) -> None:
    draft = InvoiceDraft(order_id="1371877152", number="2sdfs435d", subtotal=Money("999", SAR),
                         total=Money("7789", SAR), tax_rate=Decimal("10"),
                         tax=Money("35.3", SAR), shipping=Money("78", SAR),
                         cash_on_delivery=Money("789", SAR))
    _, invoice = drive(provider.create_invoice(provider.check_draft(draft)),
                       [(200, example("create_200_data_data_type_response.json"))])
    assert invoice.id == "1333835642"
    assert invoice.number == "2sdfs435d"
    assert invoice.currency == SAR, "the riyal's Arabic abbreviation ر.س is SAR"
    assert invoice.subtotal == Money(Decimal("999"), SAR)
    assert invoice.shipping == Money(Decimal("78"), SAR)
    assert invoice.cash_on_delivery == Money(Decimal("789"), SAR)
    assert invoice.tax_rate == Decimal("10")
    assert invoice.tax is not None
    assert invoice.tax.amount == Decimal("35.3")
    assert str(invoice.tax.amount) == "35.3", "the JSON number is read exactly"
    assert invoice.total == Money(Decimal("7789"), SAR)
    assert invoice.issue_date == dt.date(2022, 3, 23)
    (item,) = invoice.items
    assert item.name == "فستان فراولة"
    assert item.unit_price == Money(Decimal("90.50"), SAR)
    assert str(item.unit_price.amount) == "90.50"
    assert item.tax_rate == Decimal("15.00")
    assert item.tax == Money(Decimal("13.58"), SAR)
    assert item.total == Money(Decimal("104.08"), SAR)
    assert item.discount == Money(Decimal("0"), SAR)


@pytest.mark.parametrize(("name", "invoice_id", "order_id", "date"), [
    ("create_200_url_data_type_response.json", "942402683", "389701957", dt.date(2022, 12, 31)),
    ("create_200_file_data_type_response.json", "246711701", "213320125", dt.date(2022, 2, 27)),
])
def test_create_document_examples(provider: SallaProvider, drive: Drive,
                                  example: Callable[[str], Any], name: str, invoice_id: str,
                                  order_id: str, date: dt.date) -> None:
    draft = InvoiceDraft(order_id=order_id, document_url="https://i.ibb.co/jyqRQfQ/invoice.pdf")
    _, invoice = drive(provider.create_invoice(draft), [(200, example(name))])
    assert invoice.id == invoice_id
    assert invoice.order_id == order_id
    assert invoice.pdf_url == "https://i.ibb.co/jyqRQfQ/invoice.pdf"
    assert invoice.issue_date == date
    assert invoice.kind is InvoiceKind.INVOICE
    assert invoice.total is None
    assert invoice.items == ()


def test_send_example(provider: SallaProvider, drive: Drive,
                      example: Callable[[str], Any]) -> None:
    details = example("details_200.json")
    requests, receipt = drive(provider.send_invoice("1128904162", SendOptions()),
                              [(200, details), (200, example("send_200.json"))])
    assert [r.method for r in requests] == ["GET", "POST"]
    assert requests[1].path_params["order_id"].value == "1152394206"
    assert receipt.sent is True
    assert receipt.invoice_id == "1128904162"
    assert receipt.message == "تم ارسال رسالة الفاتورة بنجاح"


def _error(provider: SallaProvider, drive: Drive, body: Any, status: int) -> errors.ProviderError:
    op = provider.get_invoice("1")
    with pytest.raises(errors.ProviderError) as caught:
        drive(op, [(status, body)], provider)
    return caught.value


# (fixture, status, error class, fields expected)
ERRORS: list[tuple[str, int, type[errors.ProviderError], dict[str, list[str]]]] = [
    ("create_404.json", 404, errors.NotFound, {}),
    ("details_404.json", 404, errors.NotFound, {}),
    ("create_422_required_fields.json", 422, errors.ValidationError, {
        "order_id": ["حقل order id مطلوب."], "type": ["حقل نوع الفاتورة مطلوب."],
        "data_type": ["حقل نوع بيانات الفاتورة  مطلوب."]}),
    ("create_422_inactivated_settings.json", 422, errors.ValidationError, {
        "invoice_provider": ["لا يمكن اضافة فاتورة للطلب , اعدادات اصدار الفواتير في المتجر "
                             "تتبع المزود الافتراضي "]}),
    ("create_422_invalid_order.json", 422, errors.Conflict, {
        "order": ["لا يمكن اضافة الفاتورة  هنالك فاتورة مسبقة لهذا الطلب "]}),
    ("create_422_salla_inactivated.json", 422, errors.ValidationError, {
        "data_type": ["هذا النوع لايتناسب مع إعدادات طريقة إصدار الفواتير في متجرك . "]}),
    ("create_422_invoice_already_issued.json", 422, errors.Conflict, {
        "type": ["تم اصدار فاتورة للطلب سابقا"]}),
    ("create_422_invalid_order_id.json", 422, errors.ValidationError, {
        "order_id": ["رقم الطلب خاطئ . "]}),
    ("create_422_invalid_url.json", 422, errors.ValidationError, {
        "url": ["يجب أن ينتهي  عنوان (url)  بأحد القيم التالية: .pdf"]}),
    ("create_422_data_data_type_order_already_issued.json", 422, errors.Conflict, {
        "type": ["تم اصدار فاتورة للطلب سابقا"], "invoice_number": ["رقم الفاتورة مكرر"]}),
    ("create_422_file_data_type_invalid_fields.json", 422, errors.ValidationError, {
        "type": ["حقل نوع الفاتورة غير صالحٍ"], "file": ["يجب أن يكون حقل ملفًا من نوع : pdf."]}),
    ("details_422_already_generated.json", 422, errors.Conflict, {
        "type": ["تم اصدار فاتورة للطلب من قبل"]}),
    ("details_422_credit_note_error.json", 422, errors.ValidationError, {
        "type": ["لايمكن إصدار فاتورة مسترجع لطلب ليس لديه فاتورة ضرريبية"]}),
    ("details_422_type_body_variable_required.json", 422, errors.ValidationError, {
        "type": ["حقل نوع الفاتورة مطلوب."]}),
]


@pytest.mark.parametrize(("name", "status", "cls", "fields"), ERRORS,
                         ids=[e[0] for e in ERRORS])
def test_error_examples(provider: SallaProvider, drive: Drive, example: Callable[[str], Any],
                        name: str, status: int, cls: type[errors.ProviderError],
                        fields: dict[str, list[str]]) -> None:
    body = example(name)
    err = _error(provider, drive, body, status)
    assert type(err) is cls
    assert err.status == status
    assert err.provider == "salla"
    assert err.message == body["error"]["message"], "the message is kept verbatim"
    assert err.code == "error"
    assert err.fields == fields
    assert err.raw == body


def test_required_data_fields_example(provider: SallaProvider, drive: Drive,
                                      example: Callable[[str], Any]) -> None:
    err = _error(provider, drive, example("create_422_required_fields_for_data_data_type.json"),
                 422)
    assert type(err) is errors.ValidationError
    assert sorted(err.fields) == sorted(["order_id", "type", "invoice_number", "total",
                                         "sub_total", "shipping_cost", "cash_on_delivery_cost"])
    assert err.fields["shipping_cost"] == [
        "حقل سعر الشحن مطلوب في حال ما إذا كان نوع بيانات الفاتورة  يساوي data."]
    assert "حقل سعر الشحن" in str(err), "the Arabic text reaches str(error) intact"


@pytest.mark.parametrize(("name", "scope"), [
    ("create_401.json", "orders.read_write"),
    ("details_401.json", "orders.read"),
    ("send_401.json", "orders.read_write"),
])
def test_scope_examples(provider: SallaProvider, drive: Drive, example: Callable[[str], Any],
                        name: str, scope: str) -> None:
    err = _error(provider, drive, example(name), 401)
    assert isinstance(err, errors.PermissionDenied)
    assert err.scope == scope
    assert err.code == "Unauthorized"
    assert err.status == 401
    assert err.message.startswith("The access token should have access to one of those scopes")


def test_send_failure_example(provider: SallaProvider, drive: Drive,
                              example: Callable[[str], Any]) -> None:
    err = _error(provider, drive, example("send_422.json"), 422)
    assert type(err) is errors.ValidationError
    assert err.message == "حصل خطأ غير متوقع يرجى إعادة المُحاولة لاحقاً"
    assert err.code is None
    assert err.fields == {}
