"""The fake enforces the platforms' business rules, narrowed by profile."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs
import pytest

import invoicekit
from invoicekit import (
    Capability,
    Customer,
    InvoiceDraft,
    InvoiceKind,
    InvoiceStatus,
    LineItem,
    Money,
    SendOptions,
    errors,
)
from invoicekit.testing import FakeGateway, FakeOptions


def fake(profile: str = "default") -> FakeGateway:
    return invoicekit.connect("fake", profile=profile, today="2025-03-01")


def usd_draft(**changes: object) -> InvoiceDraft:
    base = InvoiceDraft(
        order_id="42", customer=Customer(name="Ada", email="ada@example.com"),
        items=(LineItem(name="Widget", quantity=3, unit_price=Money("2.50", "USD")),),
    )
    return attrs.evolve(base, **changes)


# ---- default profile -----------------------------------------------------------------------
def test_default_creates_open_invoices_with_numbers_and_totals() -> None:
    gw = fake()
    inv = gw.create_invoice(usd_draft())
    assert inv.id == "inv_000001"
    assert inv.status is InvoiceStatus.OPEN
    assert inv.number == "INV-0001"
    assert inv.total == Money("7.50", "USD")  # from the items when no total is given
    assert inv.balance_due == inv.total
    assert inv.issue_date == dt.date(2025, 3, 1)
    assert inv.currency == "USD"


def test_duplicate_invoice_number_is_a_conflict() -> None:
    gw = fake()
    gw.create_invoice(usd_draft(number="A-1"))
    with pytest.raises(errors.Conflict, match="A-1"):
        gw.create_invoice(usd_draft(number="A-1", order_id="43"))


def test_no_credit_note_before_an_invoice_for_that_order() -> None:
    gw = fake()
    note = usd_draft(kind=InvoiceKind.CREDIT_NOTE, order_id="77")
    with pytest.raises(errors.ValidationError, match="77") as info:
        gw.create_invoice(note)
    assert "type" in info.value.fields
    gw.create_invoice(usd_draft(order_id="77"))
    credited = gw.create_invoice(note)
    assert credited.kind is InvoiceKind.CREDIT_NOTE


def test_credit_note_needs_an_order_id() -> None:
    with pytest.raises(errors.InvalidRequest, match="order_id"):
        fake().check_draft(usd_draft(kind=InvoiceKind.CREDIT_NOTE, order_id=None))


def test_empty_draft_is_invalid_and_nothing_is_stored() -> None:
    gw = fake()
    with pytest.raises(errors.InvalidRequest):
        gw.create_invoice(InvoiceDraft())
    assert gw.invoices == ()
    assert gw.calls == ()  # refused before reaching the provider


def test_drafts_cannot_be_sent_until_finalized() -> None:
    gw = fake()
    draft = gw.create_invoice(usd_draft(options=FakeOptions(draft=True)))
    assert draft.status is InvoiceStatus.DRAFT
    assert draft.number is None
    with pytest.raises(errors.Conflict, match="draft"):
        gw.send_invoice(draft)
    assert gw.outbox == ()
    receipt = gw.send_invoice(draft, SendOptions(auto_finalize=True))
    assert receipt.sent
    finalized = gw.get_invoice(draft.id)
    assert finalized.status is InvoiceStatus.OPEN
    assert finalized.number == "INV-0001"


def test_only_open_invoices_can_be_voided() -> None:
    gw = fake()
    inv = gw.create_invoice(usd_draft())
    voided = gw.void_invoice(inv)
    assert voided.status is InvoiceStatus.VOID
    with pytest.raises(errors.Conflict, match="only open"):
        gw.void_invoice(inv)
    draft = gw.create_invoice(usd_draft(order_id="9", options=FakeOptions(draft=True)))
    with pytest.raises(errors.Conflict):
        gw.void_invoice(draft)
    with pytest.raises(errors.Conflict, match="void"):
        gw.send_invoice(inv)


def test_sending_needs_a_customer_email() -> None:
    gw = fake()
    inv = gw.create_invoice(usd_draft(customer=Customer(name="No Mail")))
    with pytest.raises(errors.ValidationError, match="email"):
        gw.send_invoice(inv)
    assert gw.outbox == ()


def test_malformed_customer_email_is_refused_locally() -> None:
    with pytest.raises(errors.InvalidRequest, match="email"):
        fake().check_draft(usd_draft(customer=Customer(name="X", email="not-an-address")))


@pytest.mark.parametrize("bad", ["inv_", "INV_1", "inv_1/../2", " inv_1", "inv_1\n", "٣", ""])
def test_default_profile_refuses_malformed_ids(bad: str) -> None:
    with pytest.raises(errors.InvalidRequest):
        fake().get_invoice(bad)


def test_receipt_reflects_cc_and_pdf() -> None:
    gw = invoicekit.connect("fake", sender_email="accounts@shop.example")
    inv = gw.create_invoice(usd_draft())
    receipt = gw.send_invoice(inv, SendOptions(cc_sender=True, attach_pdf=True))
    assert receipt.cc == "accounts@shop.example"
    assert receipt.pdf_attached is True
    assert receipt.recipient == "ada@example.com"
    assert gw.get_pdf_url(inv).endswith(".pdf")


# ---- salla profile -------------------------------------------------------------------------
def test_salla_capabilities_are_narrowed() -> None:
    gw = fake("salla")
    assert gw.capabilities == frozenset({
        Capability.CREATE_INVOICE, Capability.GET_INVOICE, Capability.LIST_INVOICES,
        Capability.SEND_INVOICE, Capability.CREDIT_NOTE, Capability.FROM_ORDER,
        Capability.DOCUMENT_URL, Capability.DOCUMENT_PDF,
    })


def test_salla_issues_with_digit_ids_and_arabic_messages() -> None:
    gw = fake("salla")
    inv = gw.create_invoice(gw.sample_draft(1))
    assert inv.id.isdigit()
    assert inv.status is InvoiceStatus.ISSUED
    assert gw.get_invoice(int(inv.id)).id == inv.id  # type: ignore[arg-type]
    receipt = gw.send_invoice(inv)
    assert receipt.message == "تم ارسال رسالة الفاتورة بنجاح"
    with pytest.raises(errors.NotFound) as info:
        gw.get_invoice("999999999")
    assert info.value.message == "المحتوى الذي تحاول الوصول اليه غير متوفر"


def test_salla_one_tax_invoice_per_order_and_unique_numbers() -> None:
    gw = fake("salla")
    first = gw.sample_draft(1)
    gw.create_invoice(first)
    with pytest.raises(errors.Conflict) as info:
        gw.create_invoice(attrs.evolve(first, number="F-other"))
    assert info.value.fields == {"type": ["تم اصدار فاتورة للطلب سابقا"]}
    with pytest.raises(errors.Conflict) as dup:
        gw.create_invoice(attrs.evolve(gw.sample_draft(2), number=first.number))
    assert dup.value.fields == {"invoice_number": ["رقم الفاتورة مكرر"]}
    assert dup.value.message == "alert.invalid_fields"


def test_salla_credit_note_after_the_invoice() -> None:
    gw = fake("salla")
    draft = gw.sample_draft(1)
    note = attrs.evolve(draft, kind=InvoiceKind.CREDIT_NOTE, number="CN-1")
    with pytest.raises(errors.ValidationError):
        gw.create_invoice(note)
    gw.create_invoice(draft)
    assert gw.create_invoice(note).kind is InvoiceKind.CREDIT_NOTE


def test_salla_data_drafts_need_number_totals_and_tax() -> None:
    gw = fake("salla")
    with pytest.raises(errors.InvalidRequest, match="sub_total") as info:
        gw.check_draft(InvoiceDraft(order_id="5", total=Money("10", "SAR")))
    assert set(info.value.fields) == {"number", "subtotal", "tax_rate", "tax"}


def test_salla_data_drafts_default_shipping_and_cash_on_delivery_to_zero() -> None:
    gw = fake("salla")
    draft = attrs.evolve(gw.sample_draft(1), shipping=None, cash_on_delivery=None)
    checked = gw.check_draft(draft)
    assert checked.shipping == Money.zero("SAR")
    assert checked.cash_on_delivery == Money.zero("SAR")
    assert gw.create_invoice(draft).shipping == Money.zero("SAR")


@pytest.mark.parametrize("order_id", [None, "abc", "12-3"])
def test_salla_needs_a_digit_order_id(order_id: str | None) -> None:
    draft = attrs.evolve(fake("salla").sample_draft(1), order_id=order_id)
    with pytest.raises(errors.InvalidRequest, match="order"):
        fake("salla").check_draft(draft)


def test_salla_document_forms() -> None:
    gw = fake("salla")
    by_url = InvoiceDraft(order_id="10", document_url="https://example.com/i.pdf")
    assert gw.create_invoice(by_url).pdf_url == "https://example.com/i.pdf"
    with pytest.raises(errors.InvalidRequest, match=r"\.pdf"):
        gw.check_draft(InvoiceDraft(order_id="11", document_url="https://example.com/i.png"))
    assert gw.create_invoice(InvoiceDraft(order_id="12", from_order=True)).order_id == "12"
    pdf = InvoiceDraft(order_id="13", document_pdf=b"%PDF-1.7 ...")
    assert gw.create_invoice(pdf).raw["created_from"] == "file"


def test_salla_unsupported_operations_never_reach_the_provider() -> None:
    gw = fake("salla")
    inv = gw.create_invoice(gw.sample_draft(1))
    before = len(gw.calls)
    with pytest.raises(errors.UnsupportedFeature):
        gw.void_invoice(inv)
    with pytest.raises(errors.UnsupportedFeature):
        gw.finalize_invoice(inv)
    with pytest.raises(errors.UnsupportedFeature):
        gw.get_pdf_url(inv)
    with pytest.raises(errors.UnsupportedFeature, match="ignore_unsupported"):
        gw.send_invoice(inv, SendOptions(cc_sender=True))
    assert len(gw.calls) == before


def test_salla_send_without_email_is_the_documented_error() -> None:
    gw = fake("salla")
    inv = gw.create_invoice(attrs.evolve(gw.sample_draft(1), customer=None))
    with pytest.raises(errors.ValidationError) as info:
        gw.send_invoice(inv)
    assert info.value.message == "حصل خطأ غير متوقع يرجى إعادة المُحاولة لاحقاً"
    assert info.value.status == 422


@pytest.mark.parametrize("bad", ["12a", "-1", "1.0", "١٢٣", "1 2", "../1", "9" * 21])
def test_salla_refuses_malformed_ids(bad: str) -> None:
    with pytest.raises(errors.InvalidRequest):
        fake("salla").get_invoice(bad)


# ---- dayzero profile -----------------------------------------------------------------------
def test_dayzero_lifecycle_draft_finalize_send_void() -> None:
    gw = fake("dayzero")
    inv = gw.create_invoice(gw.sample_draft(1))
    assert inv.status is InvoiceStatus.DRAFT
    assert inv.provider_status == "draft"
    assert inv.number is None
    with pytest.raises(errors.Conflict):
        gw.send_invoice(inv)
    with pytest.raises(errors.Conflict, match="only open"):
        gw.void_invoice(inv)
    opened = gw.finalize_invoice(inv)
    assert opened.status is InvoiceStatus.OPEN
    assert opened.number == "INV-0001"
    second = gw.finalize_invoice(gw.create_invoice(gw.sample_draft(2)))
    assert second.number == "INV-0002"
    with pytest.raises(errors.Conflict, match="only drafts"):
        gw.finalize_invoice(opened)
    assert gw.send_invoice(opened).sent
    assert gw.void_invoice(opened).status is InvoiceStatus.VOID


def test_dayzero_ids_are_deterministic_uuids() -> None:
    a, b = fake("dayzero"), fake("dayzero")
    ids_a = [a.create_invoice(a.sample_draft(n)).id for n in range(3)]
    ids_b = [b.create_invoice(b.sample_draft(n)).id for n in range(3)]
    assert ids_a == ids_b
    assert all(len(i) == 36 and i.count("-") == 4 for i in ids_a)
    assert len(set(ids_a)) == 3


@pytest.mark.parametrize(("change", "field"), [
    ({"currency": "SAR", "items": (LineItem(name="x", quantity=1,
                                            unit_price=Money("1", "SAR")),)}, "currency"),
    ({"items": (LineItem(name="x", quantity=Decimal("1.5"),
                         unit_price=Money("1", "USD")),)}, "items.0.quantity"),
    ({"items": (LineItem(name="x", quantity=1, unit_price=Money("1.005", "USD")),)},
     "items.0.unit_price"),
    ({"items": ()}, "items"),
    ({"due_date": None}, "due_date"),
    ({"number": "INV-7"}, "number"),
    ({"shipping": Money("5", "USD")}, "shipping"),
    ({"customer": Customer(name="Ada")}, "customer"),
    ({"customer": None}, "customer"),
    ({"order_id": "42"}, "order_id"),
    ({"customer": Customer(id="42", name="Ada", email="a@example.com")}, "customer.id"),
    ({"total": Money("1.00", "USD")}, "total"),
])
def test_dayzero_draft_rules(change: dict[str, object], field: str) -> None:
    gw = fake("dayzero")
    draft = attrs.evolve(gw.sample_draft(1), **change)  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidRequest) as info:
        gw.create_invoice(draft)
    assert field in info.value.fields
    assert all(c.operation != "create_invoice" for c in gw.calls)


def test_dayzero_names_every_problem_at_once() -> None:
    gw = fake("dayzero")
    draft = attrs.evolve(gw.sample_draft(1), currency="SAR", due_date=None, number="7",
                         items=(LineItem(name="x", quantity=Decimal("0.5"),
                                         unit_price=Money("1.001", "SAR")),))
    with pytest.raises(errors.InvalidRequest) as info:
        gw.check_draft(draft)
    assert set(info.value.fields) == {"currency", "due_date", "number", "items.0.quantity",
                                      "items.0.unit_price"}


def test_dayzero_creates_a_customer_without_id_with_the_invoice() -> None:
    gw = fake("dayzero")
    draft = attrs.evolve(gw.sample_draft(1), customer=Customer(name="Ada",
                                                               email="ada@example.com"))
    inv = gw.create_invoice(draft)
    assert inv.customer is not None
    assert inv.customer.id is not None
    assert len(inv.customer.id) == 36
    assert (inv.customer.name, inv.customer.email) == ("Ada", "ada@example.com")
    assert [c.operation for c in gw.calls] == ["create_invoice", "create_customer"]
    # the customer exists now: a second invoice can name it by id
    again = gw.create_invoice(attrs.evolve(draft, customer=Customer(id=inv.customer.id)))
    assert again.customer == inv.customer


def test_dayzero_inline_customer_failures_behave_like_two_requests() -> None:
    gw = fake("dayzero")
    draft = attrs.evolve(gw.sample_draft(1), customer=Customer(name="Ada",
                                                               email="ada@example.com"))
    gw.fail_next(errors.ProviderUnavailable("down", provider="fake"),
                 operation="create_customer")
    with pytest.raises(errors.ProviderUnavailable):
        gw.create_invoice(draft)
    assert gw.invoices == ()
    gw.fail_next(errors.ProviderUnavailable("down", provider="fake"),
                 operation="create_invoice")
    with pytest.raises(errors.ProviderUnavailable):
        gw.create_invoice(draft)
    assert gw.invoices == ()
    # the first request (the customer) went through before the invoice failed
    assert sum(c.operation == "create_customer" for c in gw.calls) == 2
    with pytest.raises(errors.ValidationError) as info:
        gw.create_invoice(attrs.evolve(draft, customer=Customer(name="B", email="nope")))
    assert info.value.status == 422
    assert "body.email" in info.value.fields


def test_dayzero_accepts_its_currencies_and_refuses_unknown_customers() -> None:
    gw = fake("dayzero")
    customer = gw.create_customer(Customer(name="Eve", email="eve@example.com"))
    draft = attrs.evolve(gw.sample_draft(1), customer=customer, currency="EUR", items=(
        LineItem(name="Tea", quantity=2, unit_price=Money("3.25", "EUR")),))
    inv = gw.create_invoice(draft)
    assert inv.total == Money("6.50", "EUR")
    assert inv.customer == customer
    ghost = attrs.evolve(customer, id="00000000-0000-4000-8000-000000000001")
    with pytest.raises(errors.NotFound, match="customer"):
        gw.create_invoice(attrs.evolve(draft, customer=ghost))


def test_dayzero_refuses_salla_features_before_any_call() -> None:
    gw = fake("dayzero")
    base = gw.sample_draft(1)
    with pytest.raises(errors.UnsupportedFeature, match="credit note"):
        gw.create_invoice(attrs.evolve(base, kind=InvoiceKind.CREDIT_NOTE))
    with pytest.raises(errors.UnsupportedFeature):
        gw.check_draft(attrs.evolve(base, from_order=True))
    assert gw.calls == ()


def test_create_customer_needs_name_and_email_and_no_id() -> None:
    gw = fake("dayzero")
    with pytest.raises(errors.InvalidRequest):
        gw.create_customer(Customer(name="No Mail"))
    with pytest.raises(errors.InvalidRequest):
        gw.create_customer(Customer(id="x", name="A", email="a@example.com"))
