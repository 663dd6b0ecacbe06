"""A platform profile of the fake is the plugin's own provider on the plugin's own sandbox.

So its rules are the sandbox's rules, word for word: what these tests show is that the
fake cannot accept what the platform's emulator refuses (the drift the old, restated
profiles had), and that the test controls work on every profile.
"""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

import invoicekit
from invoicekit import (
    Capability,
    Customer,
    InvoiceDraft,
    InvoiceKind,
    InvoiceStatus,
    Money,
    SendOptions,
    errors,
)
from invoicekit.testing import AsyncFakeGateway, FakeGateway, FakeProvider, profiles


def fake(profile: str) -> FakeGateway:
    return invoicekit.connect("fake", profile=profile, today="2025-03-01")


def test_installed_sandboxes_are_profiles() -> None:
    assert profiles() == ["default", "dayzero", "salla"]


def test_a_second_credit_note_for_one_order_is_a_conflict_as_on_salla() -> None:
    """The drift that motivated profiles-from-sandboxes: the old restated Salla profile
    accepted a second credit note for the same order; Salla (and its sandbox) refuse it."""
    gw = fake("salla")
    draft = gw.sample_draft(1)
    gw.create_invoice(draft)
    first = gw.create_invoice(attrs.evolve(draft, kind=InvoiceKind.CREDIT_NOTE, number="CN-1"))
    assert first.kind is InvoiceKind.CREDIT_NOTE
    with pytest.raises(errors.Conflict) as info:
        gw.create_invoice(attrs.evolve(draft, kind=InvoiceKind.CREDIT_NOTE, number="CN-2"))
    assert info.value.fields == {"type": ["تم اصدار فاتورة للطلب سابقا"]}
    assert info.value.status == 422
    assert info.value.provider == "salla"


def test_the_salla_profile_is_salla() -> None:
    gw = fake("salla")
    assert gw.provider == "salla"
    assert gw.profile == "salla"
    assert gw.capabilities == frozenset({
        Capability.CREATE_INVOICE, Capability.GET_INVOICE, Capability.LIST_INVOICES,
        Capability.SEND_INVOICE, Capability.CREDIT_NOTE, Capability.FROM_ORDER,
        Capability.DOCUMENT_URL, Capability.DOCUMENT_PDF,
    })
    inv = gw.create_invoice(gw.sample_draft(1))
    assert inv.id.isdigit()
    assert inv.status is InvoiceStatus.ISSUED
    assert inv.issue_date == dt.date(2025, 3, 1)
    assert gw.send_invoice(inv).message == "تم ارسال رسالة الفاتورة بنجاح"
    with pytest.raises(errors.NotFound) as info:
        gw.get_invoice("999999999")
    assert info.value.message == "المحتوى الذي تحاول الوصول اليه غير متوفر"
    assert gw.sandbox is not None
    assert [s.order_id for s in gw.sandbox.sent] == [inv.order_id]  # type: ignore[attr-defined]


def test_an_order_the_platform_does_not_know_is_refused() -> None:
    """Salla invoices belong to existing orders: the sandbox says so, so the fake does."""
    gw = fake("salla")
    draft = attrs.evolve(gw.sample_draft(1), order_id="424242")
    with pytest.raises(errors.ValidationError) as info:
        gw.create_invoice(draft)
    assert info.value.fields == {"order_id": ["رقم الطلب خاطئ . "]}


def test_unsupported_operations_never_reach_the_platform() -> None:
    gw = fake("salla")
    inv = gw.create_invoice(gw.sample_draft(1))
    sandbox = gw.sandbox
    assert sandbox is not None
    before = (len(gw.calls), sandbox.count())
    with pytest.raises(errors.UnsupportedFeature, match="credit note"):
        gw.void_invoice(inv)
    with pytest.raises(errors.UnsupportedFeature,
                       match=r"^salla: salla does not support finalize invoice$"):
        gw.finalize_invoice(inv)
    with pytest.raises(errors.UnsupportedFeature, match="ignore_unsupported"):
        gw.send_invoice(inv, SendOptions(cc_sender=True))
    assert (len(gw.calls), sandbox.count()) == before
    with pytest.raises(errors.InvalidRequest, match="not a valid Salla id"):
        gw.get_invoice("12/../3")  # refused by the provider, before any request
    assert sandbox.count() == before[1]


def test_the_dayzero_profile_is_dayzero() -> None:
    gw = fake("dayzero")
    inv = gw.create_invoice(gw.sample_draft(1))
    assert (inv.status, inv.provider_status, inv.number) == (InvoiceStatus.DRAFT, "draft", None)
    assert inv.issue_date == dt.date(2025, 3, 1)
    with pytest.raises(errors.InvalidRequest, match="draft"):
        gw.send_invoice(inv)
    opened = gw.finalize_invoice(inv)
    assert opened.status is InvoiceStatus.OPEN
    assert opened.number is not None
    receipt = gw.send_invoice(opened, SendOptions(cc_sender=True, attach_pdf=True))
    assert receipt.cc == "owner@sandbox.example"
    assert receipt.pdf_attached is True
    assert gw.void_invoice(opened).status is InvoiceStatus.VOID
    with pytest.raises(errors.Conflict) as info:
        gw.void_invoice(opened)
    assert (info.value.status, info.value.message) == (
        409, "Only open invoices can be voided; this invoice is void")
    assert [c.operation for c in gw.calls] == [
        "create_invoice", "send_invoice", "finalize_invoice", "send_invoice", "void_invoice",
        "void_invoice"]


def test_dayzero_refuses_what_dayzero_refuses_before_any_request() -> None:
    gw = fake("dayzero")
    base = gw.sample_draft(1)
    sandbox = gw.sandbox
    assert sandbox is not None
    with pytest.raises(errors.UnsupportedFeature, match="credit note"):
        gw.create_invoice(attrs.evolve(base, kind=InvoiceKind.CREDIT_NOTE))
    sar = Money("12.50", "SAR")
    items = (attrs.evolve(base.items[0], unit_price=sar, total=sar * 2),)
    with pytest.raises(errors.InvalidRequest) as info:
        gw.create_invoice(attrs.evolve(base, currency="SAR", due_date=None, items=items))
    assert {"currency", "due_date"} <= set(info.value.fields)
    assert gw.calls == ()
    assert sandbox.count() == 0


def test_failure_injection_works_on_a_platform_profile() -> None:
    gw = fake("dayzero")
    draft = gw.sample_draft(1)
    gw.fail_next(errors.ProviderUnavailable("down", provider="dayzero"),
                 operation="create_invoice")
    with pytest.raises(errors.ProviderUnavailable, match="down"):
        gw.create_invoice(draft)
    assert gw.invoices == ()
    created = gw.create_invoice(draft)
    assert [inv.id for inv in gw.invoices] == [created.id]
    assert [c.operation for c in gw.calls] == ["create_invoice", "create_invoice"]


def test_seed_and_reset_on_a_platform_profile() -> None:
    gw = fake("dayzero")
    customer, invoice = gw.seed(Customer(name="Eve", email="eve@example.com"),
                                gw.sample_draft(1))
    assert customer.id is not None
    assert invoice.status is InvoiceStatus.DRAFT
    assert gw.calls == ()  # seeding is not a call of the code under test
    assert len(gw.invoices) == 1
    with pytest.raises(errors.UnsupportedFeature, match="seed an InvoiceDraft"):
        gw.seed(invoice)
    old_sandbox = gw.sandbox
    gw.reset()
    assert gw.sandbox is not old_sandbox
    assert gw.invoices == ()
    assert gw.calls == ()
    again = gw.create_invoice(gw.sample_draft(2))  # the fresh sandbox serves the gateway
    assert [inv.id for inv in gw.invoices] == [again.id]


def test_salla_cannot_create_customers_so_seeding_one_is_refused() -> None:
    with pytest.raises(errors.UnsupportedFeature,
                       match=r"^salla: salla does not support create customer$"):
        fake("salla").seed(Customer(name="Eve", email="eve@example.com"))


def test_async_profile_gateway_shares_nothing_with_another() -> None:
    import asyncio

    async def scenario() -> tuple[str, int]:
        agw = invoicekit.connect_async("fake", profile="salla")
        assert isinstance(agw, AsyncFakeGateway)
        inv = await agw.create_invoice(agw.sample_draft(1))
        receipt = await agw.send_invoice(inv)
        assert agw.outbox == (receipt,)
        await agw.aclose()
        return inv.id, len(fake("salla").invoices)

    invoice_id, other = asyncio.run(scenario())
    assert invoice_id.isdigit()
    assert other == 0


@pytest.mark.parametrize(("settings", "setting"), [
    ({"profile": "stripe"}, "profile"),
    ({"profile": "salla", "sender_email": "x@example.com"}, "sender_email"),
    ({"profile": "salla", "base_url": "https://example.com"}, "base_url"),
    ({"profile": "salla", "today": "yesterday"}, "today"),
    ({"profile": "salla", "colour": "red"}, "colour"),
])
def test_profile_settings_are_checked(settings: dict[str, object], setting: str) -> None:
    with pytest.raises(errors.ConfigurationError) as info:
        invoicekit.connect("fake", **settings)
    assert info.value.setting == setting


def test_an_unknown_profile_names_the_installed_ones() -> None:
    with pytest.raises(errors.ConfigurationError,
                       match="expected one of default, dayzero, salla"):
        FakeGateway(profile="stripe")


def test_a_fake_provider_and_a_platform_profile_do_not_mix() -> None:
    with pytest.raises(errors.ConfigurationError, match="not both"):
        FakeGateway(FakeProvider(), profile="salla")


def test_a_profile_costs_no_socket() -> None:
    gw = fake("salla")
    assert gw.base_url == "https://salla.sandbox.invalid/admin/v2"
    inv = gw.create_invoice(gw.sample_draft(1))
    assert gw.get_invoice(inv.id).total == Money("230.00", "SAR")
    draft = InvoiceDraft(order_id=inv.order_id, from_order=True)
    with pytest.raises(errors.Conflict) as info:
        gw.create_invoice(draft)  # one tax invoice per order, as the sandbox says
    assert (info.value.status, info.value.fields) == (
        422, {"type": ["تم اصدار فاتورة للطلب سابقا"]})


def test_a_sandbox_registered_in_process_is_a_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    from invoicekit.testing import _fake, register_sandbox
    from invoicekit_salla.sandbox import SallaSandbox

    monkeypatch.setattr(_fake, "_registered_sandboxes", {})

    class Shop(SallaSandbox):
        """The Salla sandbox under another profile name (the provider is still salla's)."""

    with pytest.raises(errors.ConfigurationError, match="unknown fake profile 'salla2'"):
        FakeGateway(profile="salla2")
    with pytest.raises(TypeError, match="SandboxServer"):
        register_sandbox("salla2", dict)  # type: ignore[arg-type]
    register_sandbox("salla", Shop)
    assert "salla" in profiles()
    gw = FakeGateway(profile="salla")
    assert isinstance(gw.sandbox, Shop)


def test_seed_needs_a_sample_draft_and_says_so() -> None:
    from invoicekit.testing.sandbox import SandboxServer

    class Bare(SandboxServer):
        name = "bare"

    with pytest.raises(errors.UnsupportedFeature, match="the bare sandbox offers no sample draft"):
        Bare().seed(1)


def test_seed_creates_sample_drafts_through_the_platforms_provider() -> None:
    from invoicekit_salla.sandbox import SallaSandbox

    with SallaSandbox() as sandbox:
        ids = sandbox.seed(2)
        assert sorted(ids) == sorted(str(i["id"]) for i in sandbox.invoices.values())
        numbers = sorted(i["invoice_number"] for i in sandbox.invoices.values())
    assert numbers == ["F-00001", "F-00002"]
