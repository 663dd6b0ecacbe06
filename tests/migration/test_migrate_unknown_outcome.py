"""An unknown outcome is never resolved by "not found yet" (issue 13, item 1).

The DayZero sandbox stalls a create for 3 s while the target gateway gives up after 1 s:
the write lands on the target *after* the client saw `OutcomeUnknown`. The run must not
write that invoice again; it waits (bounded) for the copy to appear, and a copy still
unseen stays in flight, reported, for the next run to look for first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from migrate_support import VirtualClock, fill_salla_store, policy

import invoicekit
from invoicekit import Customer, Invoice, InvoiceDraft
from invoicekit.migration import CustomerPolicy, MigrationReport, marker, migrate, migrate_async
from invoicekit.testing.sandbox import Fault
from invoicekit_dayzero.sandbox import DayZeroSandbox
from invoicekit_salla.sandbox import SallaSandbox

CREATE = "/invoices$"


@pytest.fixture
def store() -> Iterator[SallaSandbox]:
    """A Salla store with 4 invoices, every one ready for DayZero."""
    with SallaSandbox() as sandbox:
        verdicts = fill_salla_store(sandbox, 4)
        assert sorted(verdicts.values()) == ["ready"] * 4
        yield sandbox


def stated(sandbox: SallaSandbox):  # type: ignore[no-untyped-def]
    def resolve(invoice: Invoice) -> Customer | None:
        buyer = sandbox.orders[str(invoice.order_id)]["customer"]
        return Customer(name=buyer["name"], email=buyer["email"])
    return policy(customers=CustomerPolicy(create_by_email=True, resolver=resolve))


def copies(dz: DayZeroSandbox, source_id: str) -> list[str]:
    tag = marker("salla", source_id)
    return [inv["id"] for inv in dz.invoices.values() if tag in (inv["description"] or "")]


def run_sync(store: SallaSandbox, dz: DayZeroSandbox, journal: Path, **options: object
             ) -> MigrationReport:
    with invoicekit.connect("salla", **store.settings()) as salla, \
            invoicekit.connect("dayzero", **dz.settings(), timeout=1) as dayzero:
        return migrate(salla, dayzero, journal=journal, policy=stated(store), verify=True,
                       **options)  # type: ignore[arg-type]


def run_async(store: SallaSandbox, dz: DayZeroSandbox, journal: Path, **options: object
              ) -> MigrationReport:
    async def go() -> MigrationReport:
        async with invoicekit.connect_async("salla", **store.settings()) as salla, \
                invoicekit.connect_async("dayzero", **dz.settings(), timeout=1) as dayzero:
            return await migrate_async(salla, dayzero, journal=journal, policy=stated(store),
                                       verify=True, concurrency=4,
                                       **options)  # type: ignore[arg-type]
    return asyncio.run(go())


@pytest.mark.parametrize("runner", [run_sync, run_async], ids=["sync", "async"])
def test_a_stalled_create_is_waited_for_not_written_twice(
        store: SallaSandbox, tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    with DayZeroSandbox() as dz:
        dz.faults.push(Fault.stall(3, method="POST", path=CREATE))
        report = runner(store, dz, tmp_path / "j.db", settle=10)
        assert dz.count("POST", CREATE) == 4  # one request per invoice, no second attempt
        assert len(dz.invoices) == 4
        source_ids = [inv["id"] for inv in store.invoices.values()]
        assert [len(copies(dz, sid)) for sid in source_ids] == [1, 1, 1, 1]
        assert report.written == 3
        assert report.reconciled == 1  # the stalled one, found once it landed
        assert report.in_flight == ()
        assert report.duplicates == ()
        assert report.verified == 4
        assert report.ok
        # the copy was looked for a handful of times while it stalled (0, 0.25, 0.5, 1, 2,
        # 4 s...), not in a busy loop: reads of the list are few
        assert dz.count("GET", "/invoices$") < 20


@pytest.mark.parametrize("runner", [run_sync, run_async], ids=["sync", "async"])
def test_the_next_run_does_not_rewrite_a_young_write_it_cannot_see_yet(
        store: SallaSandbox, tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    journal = tmp_path / "j.db"
    with DayZeroSandbox() as dz:
        dz.faults.push(Fault.stall(3, method="POST", path=CREATE))
        first = runner(store, dz, journal, settle=0.3)  # gives up waiting before it lands
        assert len(first.in_flight) == 1
        # the next run starts while the stalled request is still on its way: "not found"
        # at its start proves nothing; it waits until the copy shows up
        second = runner(store, dz, journal, settle=10, resume=True)
        assert second.reconciled == 1
        assert second.written == 0
        assert second.ok
        assert dz.count("POST", CREATE) == 4
        assert [len(copies(dz, inv["id"])) for inv in store.invoices.values()] == [1] * 4


@pytest.mark.parametrize("runner", [run_sync, run_async], ids=["sync", "async"])
def test_a_copy_still_unseen_stays_in_flight_and_the_next_run_looks_first(
        store: SallaSandbox, tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    journal = tmp_path / "j.db"
    with DayZeroSandbox() as dz:
        # stalls past the whole settle time: the run gives up waiting, writes nothing again
        dz.faults.push(Fault.stall(4, method="POST", path=CREATE))
        first = runner(store, dz, journal, settle=1.5)
        assert dz.count("POST", CREATE) == 4
        assert len(first.in_flight) == 1
        assert first.written == 3
        assert not first.ok
        assert "never written twice (1): " + first.in_flight[0] in first.render()
        (stalled,) = first.in_flight
        deadline = time.monotonic() + 10
        while not copies(dz, stalled) and time.monotonic() < deadline:
            time.sleep(0.05)  # the stalled request lands on the target now
        assert len(copies(dz, stalled)) == 1
        second = runner(store, dz, journal, settle=1.5, resume=True)
        assert dz.count("POST", CREATE) == 4  # the next run found it; nothing written
        assert second.reconciled == 1
        assert second.written == 0
        assert second.in_flight == ()
        assert second.ok
        assert [len(copies(dz, inv["id"])) for inv in store.invoices.values()] == [1] * 4


def test_a_write_that_never_landed_is_written_by_the_next_run_after_the_settle_time(
        store: SallaSandbox, tmp_path: Path, clock: VirtualClock) -> None:
    journal = tmp_path / "j.db"
    with DayZeroSandbox() as dz:
        # the connection is reset before the handler runs: the write never happened, but
        # the client cannot know that
        dz.faults.push(Fault.reset(method="POST", path=CREATE))
        first = run_sync(store, dz, journal, settle=0.5)
        assert len(first.in_flight) == 1
        assert first.written == 3
        assert len(dz.invoices) == 3
        clock.sleep(0.6)  # more than the settle time since the outcome became unknown
        second = run_sync(store, dz, journal, settle=0.5, resume=True)
        assert second.written == 1
        assert second.in_flight == ()
        assert second.ok
        assert dz.count("POST", CREATE) == 5
        assert [len(copies(dz, inv["id"])) for inv in store.invoices.values()] == [1] * 4


@pytest.mark.parametrize("runner", [run_sync, run_async], ids=["sync", "async"])
def test_verify_reports_two_copies_of_one_source_invoice(
        store: SallaSandbox, tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    journal = tmp_path / "j.db"
    with DayZeroSandbox() as dz:
        first = runner(store, dz, journal)
        assert first.ok
        victim = str(next(iter(store.invoices.values()))["id"])
        (original,) = copies(dz, victim)
        # a second copy made behind the journal's back (by an older invoicekit, by hand)
        with invoicekit.connect("dayzero", **dz.settings()) as dayzero:
            copy = dayzero.get_invoice(original)
            extra = dayzero.create_invoice(InvoiceDraft(
                customer=copy.customer, currency=copy.currency, items=copy.items,
                due_date=copy.due_date, description=copy.description))
        again = runner(store, dz, journal, resume=True)
        assert again.written == 0
        assert again.duplicates == (victim,)
        assert again.duplicate_copies == {victim: (original, extra.id)}
        assert not again.ok
        text = again.render()
        assert f"More than one copy found on the target (1):\n  - {victim}: {original}, " \
               f"{extra.id}" in text
        assert again.to_dict()["duplicate_copies"] == {victim: [original, extra.id]}


def test_settle_must_be_a_positive_number(store: SallaSandbox, tmp_path: Path) -> None:
    with DayZeroSandbox() as dz:
        for bad in (0, -1, float("inf"), True, "5"):
            with pytest.raises(invoicekit.errors.InvalidRequest,
                               match=r"settle must be a positive number of seconds, got "):
                run_sync(store, dz, tmp_path / "j.db", settle=bad)
