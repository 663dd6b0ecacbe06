"""The fake's test controls: outbox, call log, failure injection, seeding, threads, paging."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import attrs
import pytest

import invoicekit
from invoicekit import Customer, Invoice, InvoiceQuery, InvoiceStatus, Money, errors
from invoicekit.testing import OPERATIONS, AsyncFakeGateway, FakeGateway, FakeProvider


@pytest.fixture
def gw() -> FakeGateway:
    return invoicekit.connect("fake", today="2025-01-15")


def test_outbox_records_successful_sends_only(gw: FakeGateway) -> None:
    a = gw.create_invoice(gw.sample_draft(1))
    b = gw.create_invoice(attrs.evolve(gw.sample_draft(2), customer=None))
    gw.send_invoice(a)
    with pytest.raises(errors.ValidationError) as info:
        gw.send_invoice(b)
    assert (info.value.status, info.value.fields) == (
        422, {"customer_email": ["the invoice's customer has no email address"]})
    assert [r.invoice_id for r in gw.outbox] == [a.id]
    assert gw.outbox[0].recipient == "customer1@example.com"
    assert gw.outbox[0].message_id == "fake-message-1"


def test_call_log_names_each_operation(gw: FakeGateway) -> None:
    inv = gw.create_invoice(gw.sample_draft(1))
    gw.get_invoice(inv.id)
    list(gw.list_invoices())
    gw.send_invoice(inv.id)
    assert [c.operation for c in gw.calls] == [
        "create_invoice", "get_invoice", "list_invoices", "send_invoice"]
    assert gw.calls[1].arguments["invoice_id"] == inv.id
    assert {c.operation for c in gw.calls} <= OPERATIONS


def test_fail_next_fails_once(gw: FakeGateway) -> None:
    boom = errors.ProviderUnavailable("maintenance", provider="fake", status=503)
    gw.fail_next(boom)
    with pytest.raises(errors.ProviderUnavailable) as info:
        gw.create_invoice(gw.sample_draft(1))
    assert info.value is boom
    assert gw.invoices == ()  # the failed call changed nothing
    assert gw.create_invoice(gw.sample_draft(1)).id == "inv_000001"


def test_fail_next_of_one_operation_waits_for_it(gw: FakeGateway) -> None:
    inv = gw.create_invoice(gw.sample_draft(1))
    lost = errors.OutcomeUnknown("lost answer", provider="fake")
    gw.fail_next(lost, "send_invoice")
    assert gw.get_invoice(inv.id) == inv  # other operations are untouched
    with pytest.raises(errors.OutcomeUnknown) as info:
        gw.send_invoice(inv)
    assert info.value is lost
    assert gw.outbox == ()
    assert gw.send_invoice(inv).sent
    assert [c.operation for c in gw.calls][-2:] == ["send_invoice", "send_invoice"]


def test_fail_always_is_an_outage_until_cleared(gw: FakeGateway) -> None:
    gw.fail_always(errors.RateLimited("slow down", provider="fake", retry_after=2.0),
                   "list_invoices")
    gw.create_invoice(gw.sample_draft(1))
    for _ in range(3):
        with pytest.raises(errors.RateLimited) as info:
            list(gw.list_invoices())
        assert info.value.retry_after == 2.0
    gw.clear_failures()
    assert len(list(gw.list_invoices())) == 1


def test_failure_injection_checks_its_arguments(gw: FakeGateway) -> None:
    with pytest.raises(errors.InvalidRequest, match="unknown operation"):
        gw.fail_next(errors.NotFound(), "delete_everything")
    with pytest.raises(TypeError, match=(
            r"^error must be an exception instance, got <class 'invoicekit\.errors\.NotFound'>$")):
        gw.fail_next(errors.NotFound)  # type: ignore[arg-type]


def test_seed_invoices_drafts_and_customers(gw: FakeGateway) -> None:
    paid = Invoice(id="inv_000500", provider="elsewhere", number="OLD-1",
                   status=InvoiceStatus.PAID, total=Money("5", "SAR"))
    customer, stored, created = gw.seed(
        Customer(name="Seeded", email="s@example.com"), paid, gw.sample_draft(1))
    assert customer.id == "cus_000001"
    assert stored.provider == "fake"
    assert gw.get_invoice("inv_000500").status is InvoiceStatus.PAID
    assert created.status is InvoiceStatus.OPEN
    assert [c.operation for c in gw.calls] == ["get_invoice"]  # seeding is not a call
    with pytest.raises(errors.InvalidRequest, match="already stored"):
        gw.seed(paid)
    with pytest.raises(errors.InvalidRequest, match=(
            r"^fake: '\.\./x' is not a valid fake invoice id \(inv_ and digits\)$")):
        gw.seed(attrs.evolve(paid, id="../x"))
    with pytest.raises(errors.Conflict) as info:  # seeded numbers count for duplicates
        gw.create_invoice(attrs.evolve(gw.sample_draft(2), number="OLD-1"))
    assert (info.value.status, info.value.fields) == (
        409, {"invoice_number": ["invoice number 'OLD-1' is already used"]})


def test_reset_forgets_everything(gw: FakeGateway) -> None:
    gw.send_invoice(gw.create_invoice(gw.sample_draft(1)))
    gw.fail_always(errors.NotFound())
    gw.reset()
    assert (gw.invoices, gw.outbox, gw.calls) == ((), (), ())
    assert gw.create_invoice(gw.sample_draft(1)).id == "inv_000001"


def test_with_options_view_shares_the_store(gw: FakeGateway) -> None:
    view = gw.with_options(ignore_unsupported=True)
    inv = view.create_invoice(view.sample_draft(1))
    assert gw.get_invoice(inv.id) == inv
    assert view.fake is gw.fake


def test_listing_is_lazy_page_by_page(gw: FakeGateway) -> None:
    for n in range(5):
        gw.create_invoice(gw.sample_draft(n))
    pages = lambda: sum(c.operation == "list_invoices" for c in gw.calls)  # noqa: E731
    it = gw.list_invoices(InvoiceQuery(page_size=2))
    assert pages() == 0
    next(it)
    assert pages() == 1
    rest = list(it)
    assert len(rest) == 4
    assert pages() == 3
    cursors = [c.arguments["cursor"] for c in gw.calls if c.operation == "list_invoices"]
    assert cursors == [None, "2", "4"]


def test_listing_filters(gw: FakeGateway) -> None:
    a = gw.create_invoice(attrs.evolve(gw.sample_draft(1), issue_date=dt.date(2024, 1, 1),
                                       description="spring sale"))
    b = gw.create_invoice(gw.sample_draft(2))
    gw.void_invoice(b)

    def ids(**query: object) -> list[str]:
        return [i.id for i in gw.list_invoices(InvoiceQuery(**query))]  # type: ignore[arg-type]

    assert ids(status=InvoiceStatus.VOID) == [b.id]
    assert ids(order_id=a.order_id) == [a.id]
    assert ids(search="SPRING") == [a.id]
    assert ids(search="customer2@") == [b.id]
    assert ids(to_date=dt.date(2024, 12, 31)) == [a.id]
    assert ids(from_date=dt.date(2025, 1, 1)) == [b.id]
    assert ids(customer_id="nobody") == []


def test_thread_safe_creates_get_unique_ids_and_numbers() -> None:
    gw = FakeGateway()
    errors_seen: list[BaseException] = []

    def worker(start: int) -> None:
        try:
            for n in range(start, start + 25):
                gw.create_invoice(gw.sample_draft(n))
        except BaseException as exc:
            errors_seen.append(exc)

    threads = [threading.Thread(target=worker, args=(i * 100,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors_seen == []
    invoices = gw.invoices
    assert len(invoices) == 200
    assert len({i.id for i in invoices}) == 200
    assert len({i.number for i in invoices}) == 200


def test_constructor_arguments_are_checked() -> None:
    provider = FakeProvider(today="2025-01-01")
    assert FakeGateway(provider).profile == "default"
    assert FakeGateway(provider, profile="default").fake is provider
    assert FakeGateway(profile="salla").fake is None
    with pytest.raises(errors.ConfigurationError, match="not both"):
        FakeGateway(provider, profile="dayzero")
    with pytest.raises(errors.ConfigurationError, match="either a FakeProvider or its settings"):
        FakeGateway(provider, today="2025-01-02")
    with pytest.raises(errors.ConfigurationError, match="expected a FakeProvider, got object"):
        FakeGateway(object())  # type: ignore[arg-type]
    with pytest.raises(errors.ConfigurationError, match="http_client"):
        FakeGateway(http_client=object())


def test_async_fake_same_rules_and_store() -> None:
    agw = invoicekit.connect_async("fake", profile="dayzero")
    assert isinstance(agw, AsyncFakeGateway)

    async def scenario() -> list[str]:
        async with agw:
            inv = await agw.create_invoice(agw.sample_draft(1))
            with pytest.raises(errors.InvalidRequest, match="cannot send drafts"):
                await agw.send_invoice(inv)
            await agw.send_invoice(inv, invoicekit.SendOptions(auto_finalize=True))
            return [i.id async for i in agw.list_invoices()]

    listed = asyncio.run(scenario())
    assert listed == [agw.invoices[0].id]
    assert len(agw.outbox) == 1
    assert agw.invoices[0].status is InvoiceStatus.OPEN


def test_closed_gateway_refuses_calls(gw: FakeGateway) -> None:
    gw.close()
    with pytest.raises(errors.ConfigurationError, match="this gateway is closed"):
        gw.create_invoice(gw.sample_draft(1))
