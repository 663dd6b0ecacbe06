"""The neutral fake (the default profile) enforces the rules every platform shares.

The platform profiles are the plugins' sandboxes: see `test_fake_profiles.py`.
"""

from __future__ import annotations

import datetime as dt
import re

import attrs
import pytest

import invoicekit
from invoicekit import (
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


def fake() -> FakeGateway:
    return invoicekit.connect("fake", today="2025-03-01")


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
    assert inv.balance_due == Money("7.50", "USD")
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
    with pytest.raises(errors.InvalidRequest) as info:
        gw.create_invoice(InvoiceDraft())
    assert info.value.fields == {
        "items": ["a draft needs line items, a total, a document or from_order=True"]}
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
    with pytest.raises(errors.Conflict) as info:
        gw.void_invoice(draft)
    assert (info.value.status, info.value.fields) == (
        409, {"status": ["only open invoices can be voided; this one is draft"]})
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
    with pytest.raises(errors.InvalidRequest, match=(
            f"^fake: {re.escape(repr(bad))} is not a valid fake invoice id "
            r"\(inv_ and digits\)$")):
        fake().get_invoice(bad)


def test_receipt_reflects_cc_and_pdf() -> None:
    gw = invoicekit.connect("fake", sender_email="accounts@shop.example")
    inv = gw.create_invoice(usd_draft())
    receipt = gw.send_invoice(inv, SendOptions(cc_sender=True, attach_pdf=True))
    assert receipt.cc == "accounts@shop.example"
    assert receipt.pdf_attached is True
    assert receipt.recipient == "ada@example.com"
    assert gw.get_pdf_url(inv).endswith(".pdf")
