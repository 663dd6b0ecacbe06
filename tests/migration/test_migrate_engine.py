"""The engine against the in-memory fake: plan, copy, exactly-once, resume, verify."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from migrate_support import TODAY, VirtualClock, policy, salla_like_drafts

import invoicekit
from invoicekit import Invoice, InvoiceDraft, Money, errors
from invoicekit.migration import (
    CurrencyPolicy,
    CustomerPolicy,
    MigrationReport,
    OrderPolicy,
    Progress,
    marker,
    migrate,
    migrate_async,
)
from invoicekit.testing import AsyncFakeGateway, FakeGateway, FakeProvider


def creates(gw: FakeGateway) -> int:
    return sum(1 for c in gw.calls if c.operation == "create_invoice")


def copies_of(gw: FakeGateway | AsyncFakeGateway, source_id: str) -> list[Invoice]:
    tag = marker("fake", source_id)
    return [inv for inv in gw.invoices if tag in (inv.description or "")]


def journal_rows(path: Path) -> dict[str, tuple[str, str | None]]:
    db = sqlite3.connect(path)
    try:
        return {sid: (state, tid) for sid, state, tid in
                db.execute("SELECT source_id, state, target_id FROM entries")}
    finally:
        db.close()


def assert_exactly_once(source: FakeGateway, target: FakeGateway | AsyncFakeGateway,
                        path: Path) -> None:
    rows = journal_rows(path)
    done = {sid: tid for sid, (state, tid) in rows.items() if state == "done"}
    assert "in_flight" not in {state for state, _ in rows.values()}
    for inv in source.invoices:
        found = copies_of(target, inv.id)
        if inv.id in done:
            assert [c.id for c in found] == [done[inv.id]]
        else:
            assert found == []


def test_plan_writes_nothing_and_names_every_invoice_not_carried(
        salla: FakeGateway, dayzero: FakeGateway, journal: Path, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.jsonl"
    report = migrate(salla, dayzero, journal=journal, policy=policy(), plan_only=True,
                     plan_path=plan_file)
    assert dayzero.calls == ()  # not even a customer
    assert report.plan_only
    assert report.written == 0
    assert report.seen == 30
    reasons = {e.source_id: (e.category, e.reason or "") for e in report.not_carried}
    by_number = {inv.number: inv.id for inv in salla.invoices}
    assert reasons[by_number["CN-00012"]] == ("cannot_carry", "dayzero: dayzero does not "
                                                               "support credit note")
    category, reason = reasons[by_number["F-00010"]]
    assert category == "needs_mapping"
    assert "no email" in reason
    assert "عميل رقم 10" in reason
    lines = [json.loads(line) for line in plan_file.read_text("utf-8").splitlines()]
    assert len(lines) == 30
    ready = next(line for line in lines if line["category"] == "ready")
    assert ready["draft"]["currency"] == "USD"
    assert any("create dayzero customer" in a for a in ready["actions"])
    assert report.categories["ready"] + len(report.not_carried) == 30
    assert "cannot carry: dayzero: dayzero does not support credit note" in report.render()


def test_without_a_rate_the_plan_says_the_currency_cannot_be_carried(
        salla: FakeGateway, dayzero: FakeGateway, journal: Path) -> None:
    report = migrate(salla, dayzero, journal=journal, plan_only=True,
                     policy=policy(currency=invoicekit.migration.CurrencyPolicy(),
                                   customers=CustomerPolicy(mapping={
                                       f"c{i}@example.sa": "0e6b2c4a-1111-4222-8333-444455556666"
                                       for i in range(40)})))
    cannot = [e for e in report.not_carried if e.category == "cannot_carry"
              and e.kind == "invoice"]
    assert cannot
    assert all("SAR" in (e.reason or "") and "--rate" in (e.reason or "") for e in cannot)


def test_copy_verify_and_rerun_writes_nothing(
        salla: FakeGateway, dayzero: FakeGateway, journal: Path) -> None:
    first = migrate(salla, dayzero, journal=journal, policy=policy(), verify=True)
    # 30 invoices: 3 customers without email need mapping (10, 20, 30); 2 credit notes
    # (12, 24) and 1 fractional quantity (25) cannot be carried; the other 24 are ready.
    assert dict(first.categories) == {"ready": 24, "needs_mapping": 3, "cannot_carry": 3}
    ready = 24
    # every ready invoice is on the target exactly once; the fractional quantity is named
    # at plan time, since the target reports every problem of a draft at once (as DayZero
    # does), not only its customer that the copy would create first
    assert first.written == ready
    assert first.failures == ()
    fractional = next(e for e in first.not_carried if e.source_id == salla.invoices[24].id)
    assert fractional.category == "cannot_carry"
    assert "whole numbers" in (fractional.reason or "")
    assert first.verified == first.written
    assert first.mismatches == ()
    assert_exactly_once(salla, dayzero, journal)
    before = creates(dayzero)
    again = migrate(salla, dayzero, journal=journal, policy=policy(), resume=True, verify=True)
    assert again.written == 0
    assert creates(dayzero) == before
    fractional = next(e for e in again.not_carried if e.source_id == salla.invoices[24].id)
    assert fractional.category == "cannot_carry"
    assert "whole numbers" in (fractional.reason or "")
    assert again.failures == ()
    assert again.ok
    assert again.verified == first.written
    assert again.mismatches == ()


def test_a_journal_in_use_needs_resume_and_belongs_to_one_pair(
        salla: FakeGateway, dayzero: FakeGateway, journal: Path) -> None:
    migrate(salla, dayzero, journal=journal, policy=policy(), plan_only=True)
    with pytest.raises(errors.ConfigurationError, match="resume"):
        migrate(salla, dayzero, journal=journal, policy=policy())
    other = invoicekit.connect("fake")
    other_provider = attrs.evolve  # keep the name check honest with another provider name
    assert other_provider is not None

    class Renamed(FakeProvider):
        name = "elsewhere"

    with pytest.raises(errors.ConfigurationError, match="belongs to the migration"):
        migrate(FakeGateway(Renamed()), dayzero, journal=journal, resume=True)
    other.close()
    from invoicekit.migration import Journal

    held = Journal(journal, source="fake", target="dayzero", resume=True)
    try:
        with pytest.raises(errors.ConfigurationError, match="in use"):
            migrate(salla, dayzero, journal=journal, policy=policy(), resume=True)
    finally:
        held.close()
    (journal.parent / "garbage.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(errors.ConfigurationError, match="not a usable migration journal"):
        migrate(salla, dayzero, journal=journal.parent / "garbage.db")


class LostAnswer:
    """A target whose Nth create happens but its answer is lost (`OutcomeUnknown`), or
    whose process 'dies' right after it (`KeyboardInterrupt` stands in for the kill)."""

    def __init__(self, inner: FakeGateway, *, at: int, error: BaseException) -> None:
        self._inner, self._at, self._error, self._n = inner, at, error, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def create_invoice(self, draft: InvoiceDraft) -> Invoice:
        created = self._inner.create_invoice(draft)
        self._n += 1
        if self._n == self._at:
            raise self._error
        return created


def test_outcome_unknown_is_reconciled_not_duplicated(
        salla: FakeGateway, dayzero: FakeGateway, journal: Path) -> None:
    lossy = LostAnswer(dayzero, at=3, error=errors.OutcomeUnknown("timeout", provider="fake"))
    report = migrate(salla, lossy, journal=journal, policy=policy())  # type: ignore[arg-type]
    assert report.reconciled == 1
    assert report.in_flight == ()
    assert_exactly_once(salla, dayzero, journal)


def test_a_write_that_never_happened_is_written_after_reconciliation(
        salla: FakeGateway, dayzero: FakeGateway, journal: Path, clock: VirtualClock) -> None:
    dayzero.fail_next(errors.OutcomeUnknown("reset", provider="fake"),
                      operation="create_invoice")
    first = migrate(salla, dayzero, journal=journal, policy=policy(), settle=0.2)
    assert clock.slept, "the run looked again until the settle time had passed"
    # not found, but "not found yet" proves nothing: left in flight, not written again
    assert first.reconciled == 0
    assert first.in_flight == (salla.invoices[0].id,)
    assert not first.ok
    assert copies_of(dayzero, salla.invoices[0].id) == []
    clock.sleep(0.3)  # the settle time has passed since the outcome became unknown
    report = migrate(salla, dayzero, journal=journal, policy=policy(), settle=0.2,
                     resume=True)
    assert report.reconciled == 0
    assert report.in_flight == ()
    assert report.written == 1
    # the fractional one is not "ready": the target named it at plan time
    assert first.written + report.written == report.categories["ready"]
    assert_exactly_once(salla, dayzero, journal)


def test_a_crash_after_the_write_is_found_on_resume(
        salla: FakeGateway, dayzero: FakeGateway, journal: Path) -> None:
    crash = KeyboardInterrupt()
    dying = LostAnswer(dayzero, at=5, error=crash)
    with pytest.raises(KeyboardInterrupt) as info:
        migrate(salla, dying, journal=journal, policy=policy())  # type: ignore[arg-type]
    assert info.value is crash  # the run's own interrupt, not one raised while handling it
    rows = journal_rows(journal)
    assert [s for s, (state, _) in rows.items() if state == "in_flight"] != []
    report = migrate(salla, dayzero, journal=journal, policy=policy(), resume=True)
    assert report.reconciled == 1
    assert_exactly_once(salla, dayzero, journal)


def test_a_changed_source_is_reported_not_overwritten(
        salla: FakeGateway, dayzero: FakeGateway, journal: Path) -> None:
    migrate(salla, dayzero, journal=journal, policy=policy())
    first = salla.invoices[0]
    salla.fake._invoices[first.id] = attrs.evolve(first, total=Money("1.00", "SAR"))
    before = creates(dayzero)
    report = migrate(salla, dayzero, journal=journal, policy=policy(), resume=True)
    assert report.changed == (first.id,)
    assert creates(dayzero) == before
    assert "Changed at the source since copied" in report.render()


def test_verification_lists_a_copy_that_differs(
        salla: FakeGateway, dayzero: FakeGateway, journal: Path) -> None:
    migrate(salla, dayzero, journal=journal, policy=policy())
    victim = dayzero.invoices[2]
    assert dayzero.sandbox is not None
    dayzero.sandbox.invoices[victim.id]["total"] = 1  # type: ignore[attr-defined]  # cents
    report = migrate(salla, dayzero, journal=journal, policy=policy(), resume=True, verify=True)
    assert [(m.target_id, m.field, m.actual) for m in report.mismatches] == [
        (victim.id, "total", "0.01 USD")]
    assert not report.ok
    assert "1 mismatches" in report.render()


def test_to_an_order_based_target_orders_are_mapped_or_reported(
        journal: Path, tmp_path: Path) -> None:
    source = FakeGateway(profile="dayzero", today=TODAY)
    for n in range(1, 5):
        (created,) = source.seed(source.sample_draft(n))
        source.finalize_invoice(created)  # numbered by DayZero on finalize
    target = FakeGateway(profile="salla", today=TODAY)
    assert target.sandbox is not None
    # Salla takes an invoice's lines from its order: the orders hold the source's lines,
    # converted at the stated rate (12.50 USD x 3.75 = 46.875, 46.88 SAR).
    orders_there = [target.sandbox.add_order(  # type: ignore[attr-defined]
        items=[{"name": f"Item {n}", "quantity": 2, "price": Decimal("46.88")}])
        for n in (1, 2, 3)]
    # Salla invoices are in SAR: the USD amounts need a stated rate. The real one does not
    # divide evenly; the converted total stays the sum of the converted lines.
    to_sar = CurrencyPolicy({("USD", "SAR"): Decimal("3.75")})
    plan = migrate(source, target, journal=journal, plan_only=True,
                   policy=invoicekit.migration.MigrationPolicy(currency=to_sar))
    assert plan.categories["needs_mapping"] == 4
    assert all("order" in (e.reason or "") for e in plan.not_carried)
    ids = [inv.id for inv in source.invoices]
    numbers = {inv.id: inv.number for inv in source.invoices}
    orders = OrderPolicy(mapping={ids[0]: orders_there[0], ids[1]: orders_there[1]},
                         resolver=lambda inv: orders_there[2] if inv.id == ids[2] else None)
    report = migrate(source, target, journal=journal, resume=True, verify=True,
                     policy=invoicekit.migration.MigrationPolicy(orders=orders,
                                                                 currency=to_sar))
    assert report.written == 3
    # Salla keeps no due date: verification says so for each copy, nothing else differs
    assert sorted((m.field, m.expected, m.actual) for m in report.mismatches) == [
        ("due_date", "2026-03-31", "-")] * 3
    assert sorted(inv.order_id or "" for inv in target.invoices) == sorted(orders_there)
    assert sorted(inv.number or "" for inv in target.invoices) == sorted(
        numbers[i] or "" for i in ids[:3])
    assert {inv.tax for inv in target.invoices} == {Money("0", "SAR")}
    assert [e.source_id for e in report.not_carried] == [ids[3]]


def test_attach_pdf_carries_the_source_document(journal: Path) -> None:
    source = FakeGateway(FakeProvider(today=TODAY))
    (original,) = source.seed(source.sample_draft(1))
    assert (original.pdf_url or "").endswith(".pdf")
    target = FakeGateway(profile="salla", today=TODAY)
    assert target.sandbox is not None
    order = target.sandbox.add_order()  # type: ignore[attr-defined]
    orders = OrderPolicy(resolver=lambda inv: order, attach_pdf=True)
    report = migrate(source, target, journal=journal, verify=True,
                     policy=invoicekit.migration.MigrationPolicy(orders=orders))
    assert report.written == 1
    assert report.ok
    (copy,) = target.invoices
    assert copy.order_id == order
    assert copy.pdf_url == original.pdf_url
    assert target.sandbox.invoices[copy.id]["data_type"] == "url"  # type: ignore[attr-defined]


def test_async_with_concurrency_matches_sync(
        salla: FakeGateway, journal: Path) -> None:
    target = AsyncFakeGateway(profile="dayzero", today=TODAY)
    source = AsyncFakeGateway(salla.fake)
    ticks: list[Progress] = []
    report: MigrationReport = asyncio.run(migrate_async(
        source, target, journal=journal, policy=policy(), concurrency=4, verify=True,
        progress=ticks.append))
    assert report.written == report.categories["ready"]
    assert report.mismatches == ()
    assert report.verified == report.written
    assert_exactly_once(salla, target, journal)
    assert {t.phase for t in ticks} >= {"plan", "customers", "copy", "verify"}
    copy_ticks = [t for t in ticks if t.phase == "copy"]
    assert copy_ticks[-1].done == copy_ticks[-1].total
    with pytest.raises(errors.InvalidRequest, match="concurrency"):
        asyncio.run(migrate_async(source, target, journal=journal, concurrency=0))


def test_async_cancellation_leaves_writes_for_reconciliation(
        journal: Path) -> None:
    source = FakeGateway(FakeProvider(today=TODAY))
    source.seed(*[d for d in salla_like_drafts(40) if d.kind.value == "invoice"])

    class Slow(AsyncFakeGateway):
        stall = True

        async def create_invoice(self, draft: InvoiceDraft) -> Invoice:
            created = await super().create_invoice(draft)
            if self.stall:
                await asyncio.sleep(3600)  # the answer never arrives before the cancel
            return created

    target = Slow(profile="dayzero", today=TODAY)

    async def main() -> None:
        task = asyncio.create_task(migrate_async(
            AsyncFakeGateway(source.fake), target, journal=journal, policy=policy(),
            concurrency=3))
        for _ in range(200):
            await asyncio.sleep(0)
            if sum(1 for c in target.calls if c.operation == "create_invoice") >= 3:
                break
        task.cancel("the operator stopped the run")
        with pytest.raises(asyncio.CancelledError, match=r"^the operator stopped the run$"):
            await task
        assert task.cancelled()

    asyncio.run(main())
    rows = journal_rows(journal)
    # the three writes sent, and the three marked with them (a batch is twice the
    # concurrency) that were never sent
    assert sum(1 for state, _ in rows.values() if state == "in_flight") == 6
    target.stall = False
    report = asyncio.run(migrate_async(AsyncFakeGateway(source.fake), target, journal=journal,
                                       policy=policy(), resume=True, concurrency=3,
                                       settle=0.2))
    assert report.reconciled == 3  # the sent ones found; the others written once, below
    assert report.in_flight == ()
    assert_exactly_once(source, target, journal)


@pytest.mark.parametrize("amount", ["1e30", "1e99"])
def test_an_amount_the_target_cannot_represent_is_cannot_carry_and_the_run_goes_on(
        salla: FakeGateway, dayzero: FakeGateway, journal: Path, amount: str) -> None:
    huge = Money(Decimal(amount), "SAR")
    zero = Money.zero("SAR")
    (giant,) = salla.seed(InvoiceDraft(
        order_id="9100001", number="F-HUGE", currency="SAR", issue_date=TODAY,
        customer=invoicekit.Customer(name="عميل كبير", email="big@example.sa"),
        items=(invoicekit.LineItem(name="ذهب", quantity=Decimal(1), unit_price=huge,
                                   total=huge),),
        subtotal=huge, shipping=zero, cash_on_delivery=zero, tax_rate=Decimal(0), tax=zero,
        total=huge))
    report = migrate(salla, dayzero, journal=journal, policy=policy(), verify=True)
    verdict = next(e for e in report.not_carried if e.source_id == giant.id)
    assert verdict.category == "cannot_carry"
    # the converted amount is exact, and beyond what DayZero takes: its rules say so
    assert (verdict.reason or "").startswith(
        "dayzero: draft refused before sending: items.0.unit_price: ")
    assert "is beyond the largest amount DayZero takes (90071992547409.91" in (
        verdict.reason or "")
    assert copies_of(dayzero, giant.id) == []
    # the other 30: 2 credit notes and 1 fractional quantity cannot carry, 3 customers
    # without email need a mapping, 24 are copied
    assert report.written == report.categories["ready"] == 24
    assert report.failures == ()
    assert report.ok
    assert "[invoice] cannot carry: dayzero: draft refused before sending: " in report.render()


def test_a_conversion_is_exact_or_refused_never_rounded_at_28_digits(journal: Path) -> None:
    source = FakeGateway(FakeProvider(today=TODAY))
    # the neutral fake as the target: it holds any amount (DayZero's cents would not)
    target = FakeGateway(FakeProvider(today=TODAY))
    # at 0.5 USD per SAR the price is 12345678901234567890123456.125 USD: 29 significant
    # digits, which the default decimal context would round half-even (to ...456.12)
    # before the policy's half-up rounding to cents (...456.13)
    price = Money(Decimal("24691357802469135780246912.25"), "SAR")
    zero = Money.zero("SAR")
    source.seed(InvoiceDraft(
        order_id="9100002", number="F-BIG", currency="SAR", issue_date=TODAY,
        customer=invoicekit.Customer(name="عميل", email="big@example.sa"),
        items=(invoicekit.LineItem(name="ذهب", quantity=Decimal(1), unit_price=price,
                                   total=price),),
        subtotal=price, shipping=zero, cash_on_delivery=zero, tax_rate=Decimal(0), tax=zero,
        total=price))
    half = policy(currency=CurrencyPolicy({("SAR", "USD"): Decimal("0.5")}))
    report = migrate(source, target, journal=journal, policy=half, verify=True)
    assert report.written == 1
    assert report.mismatches == ()
    (copy,) = target.invoices
    assert copy.total == Money(Decimal("12345678901234567890123456.13"), "USD")
    assert copy.items[0].unit_price == Money(Decimal("12345678901234567890123456.13"), "USD")
