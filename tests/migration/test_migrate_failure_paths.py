"""Every per-invoice failure path of the copy, driven by the sandboxes' fault injection.

Each test ends in the documented state (`failed` and retried by the next run, `in_flight`,
`done` with duplicates reported, a run stopped before any further write) with the report
line a person reads. The journal is read through a second connection, as `invoicekit
migrate --resume` would find it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from migrate_support import TODAY, fill_salla_store, policy

import invoicekit
from invoicekit import Customer, Invoice, InvoiceDraft, LineItem, Money, errors
from invoicekit.migration import (
    CustomerPolicy,
    MigrationPolicy,
    MigrationReport,
    Mismatch,
    OrderPolicy,
    Progress,
    marker,
    migrate,
    migrate_async,
)
from invoicekit.testing.sandbox import Fault
from invoicekit_dayzero.sandbox import DayZeroSandbox
from invoicekit_salla.sandbox import SallaSandbox


def rows(journal: Path) -> dict[str, tuple[str, int, str | None]]:
    db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    try:
        return {sid: (state, attempts, error) for sid, state, attempts, error in db.execute(
            "SELECT source_id, state, attempts, error FROM entries")}
    finally:
        db.close()


# ---- Salla store -> DayZero ------------------------------------------------------------------
ISSUED: list[str] = []


@pytest.fixture
def store() -> Iterator[SallaSandbox]:
    """15 invoices: 14 ready, the 15th's buyer has no email (needs a mapping)."""
    with SallaSandbox() as sandbox:
        verdicts = fill_salla_store(sandbox, 15)
        assert sorted(verdicts.values()) == ["needs_mapping"] + ["ready"] * 14
        ISSUED[:] = list(verdicts)
        yield sandbox


def stated(sandbox: SallaSandbox) -> MigrationPolicy:
    def resolve(invoice: Invoice) -> Customer | None:
        buyer = sandbox.orders[str(invoice.order_id)]["customer"]
        return Customer(name=buyer["name"], email=buyer["email"])
    return policy(customers=CustomerPolicy(create_by_email=True, resolver=resolve))


def to_dayzero(store: SallaSandbox, dz: DayZeroSandbox, journal: Path, **options: Any
               ) -> MigrationReport:
    with invoicekit.connect("salla", **store.settings()) as salla, \
            invoicekit.connect("dayzero", **dz.settings()) as dayzero:
        return migrate(salla, dayzero, journal=journal, policy=stated(store), **options)


def source_id_of_order(store: SallaSandbox, n: int) -> str:
    """The Salla invoice id of the *n*th order `fill_salla_store` made (1-based)."""
    return ISSUED[n - 1]


def buyer_of(store: SallaSandbox, source_id: str) -> str:
    order = next(str(inv["order_id"]) for inv in store.invoices.values()
                 if str(inv["id"]) == source_id)
    return str(store.orders[order]["customer"]["email"])


def copies(dz: DayZeroSandbox, source_id: str) -> list[str]:
    tag = marker("salla", source_id)
    return [inv["id"] for inv in dz.invoices.values() if tag in (inv["description"] or "")]


@pytest.mark.parametrize("fault", [
    Fault.status_code(422, {"detail": [{"loc": ["body", "email"], "type": "value_error",
                                        "msg": "value is not a valid email address"}]},
                      method="POST", path="/customers$"),
    Fault.reset(method="POST", path="/customers$"),
], ids=["refused", "lost"])
def test_a_customer_that_could_not_be_created_fails_its_invoices_until_the_next_run(
        store: SallaSandbox, tmp_path: Path, fault: Fault) -> None:
    journal = tmp_path / "j.db"
    victim = source_id_of_order(store, 10)
    # customers are created in key order: "email:buyer10@..." sorts first
    assert buyer_of(store, victim) == "buyer10@example.sa"
    with DayZeroSandbox() as dz:
        dz.faults.push(fault)
        report = to_dayzero(store, dz, journal)
        reason = "the customer buyer10@example.sa could not be created on dayzero"
        assert report.failures == ((victim, reason),)
        assert rows(journal)[victim] == ("failed", 0, reason)  # never sent: no attempt
        assert copies(dz, victim) == []
        assert report.written == 13
        assert f"Failed (1; retried on the next run):\n  - {victim}: {reason}" \
            in report.render()
        assert not report.ok
        no_email = source_id_of_order(store, 15)
        (mapping,) = report.not_carried
        assert (mapping.source_id, mapping.category) == (no_email, "needs_mapping")
        assert f"{no_email} (no. " in report.render()
        again = to_dayzero(store, dz, journal, resume=True, verify=True)
        assert again.written == 1
        assert again.failures == ()
        assert again.ok
        assert len(copies(dz, victim)) == 1
        assert rows(journal)[victim][:2] == ("done", 1)


def test_a_create_the_target_refused_is_failed_with_its_words_and_retried(
        store: SallaSandbox, tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    with DayZeroSandbox() as dz:
        dz.faults.push(Fault.status_code(
            422, {"detail": [{"loc": ["body", "due_date"], "msg": "field required",
                              "type": "value_error.missing"}]},
            method="POST", path="/invoices$"))
        report = to_dayzero(store, dz, journal)
        ((victim, error),) = report.failures
        assert error.startswith("dayzero HTTP 422")
        assert "due_date" in error
        assert "field required" in error
        assert rows(journal)[victim] == ("failed", 1, error)
        assert copies(dz, victim) == []
        assert report.written == 13
        assert dz.count("POST", "/invoices$") == 14
        assert f"Failed (1; retried on the next run):\n  - {victim}: {error}\n" \
            in report.render()
        assert report.render().endswith("NOT OK: see above")
        again = to_dayzero(store, dz, journal, resume=True)
        assert again.written == 1
        assert again.ok
        assert rows(journal)[victim][:2] == ("done", 2)
        assert len(copies(dz, victim)) == 1


def test_verify_reports_a_copy_gone_from_the_target(
        store: SallaSandbox, tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    with DayZeroSandbox() as dz:
        assert to_dayzero(store, dz, journal).ok
        victim = source_id_of_order(store, 3)
        (gone,) = copies(dz, victim)
        with dz.lock:
            del dz.invoices[gone]
        report = to_dayzero(store, dz, journal, resume=True, verify=True)
        assert report.mismatches == (Mismatch(victim, gone, "exists", "the copy", "not found"),)
        assert report.verified == 13
        assert not report.ok
        assert (f"Verified 13 copies: 1 mismatches\n  - {victim} -> {gone}: exists: "
                "expected the copy, target has not found\n") in report.render()
        assert rows(journal)[victim][0] == "done"


def test_reconciliation_that_finds_two_copies_reports_both(
        store: SallaSandbox, tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    with DayZeroSandbox() as dz:
        dz.faults.push(Fault.reset(method="POST", path="/invoices$"))  # never carried out
        first = to_dayzero(store, dz, journal, settle=0.3)
        (victim,) = first.in_flight
        assert rows(journal)[victim][0] == "in_flight"
        assert "never written twice (1): " + victim in first.render()
        # two copies appear behind the journal's back (another tool, a person)
        buyer = next(c for c in dz.customers.values()
                     if c["email"] == buyer_of(store, victim))
        made: list[str] = []
        with invoicekit.connect("dayzero", **dz.settings()) as dayzero:
            for _ in range(2):
                made.append(dayzero.create_invoice(InvoiceDraft(
                    customer=Customer(id=buyer["id"]), currency="USD",
                    due_date=TODAY + dt.timedelta(days=30), description=marker("salla", victim),
                    items=(LineItem(name="x", quantity=Decimal(1),
                                    unit_price=Money("1.00", "USD")),))).id)
        report = to_dayzero(store, dz, journal, resume=True, settle=0.3)
        assert report.reconciled == 1
        assert report.duplicates == (victim,)
        assert report.duplicate_copies == {victim: tuple(made)}
        state, _, note = rows(journal)[victim]
        assert (state, note) == ("done", f"2 copies found: {made[0]}, {made[1]}")
        assert f"  - {victim}: {made[0]}, {made[1]}" in report.render()
        assert not report.ok
        assert dz.count("POST", "/invoices$") == 14 + 2  # nothing written a third time


def test_a_failed_group_commit_stops_the_run_before_any_further_write(
        store: SallaSandbox, tmp_path: Path) -> None:
    journal = tmp_path / "j.db"

    def steal(tick: Progress) -> None:
        # another migration takes the lease over mid-run: the next group commit of
        # in-flight marks fails, so no further write may start
        if tick.phase == "copy" and tick.done == 1:
            db = sqlite3.connect(journal)
            db.execute("UPDATE lease SET owner = 'worker-2:4242:abc', expires = ?",
                       (time.time() - 1,))
            db.commit()
            db.close()

    async def run(**options: Any) -> MigrationReport:
        async with invoicekit.connect_async("salla", **store.settings()) as salla, \
                invoicekit.connect_async("dayzero", **dz.settings()) as dayzero:
            return await migrate_async(salla, dayzero, journal=journal, policy=stated(store),
                                       concurrency=2, **options)

    with DayZeroSandbox() as dz:
        with pytest.raises(errors.ConfigurationError) as caught:
            asyncio.run(run(progress=steal))
        assert str(caught.value) == (
            f"this run lost the lease on the journal {str(journal)!r} (another migration "
            "took it over after it expired); stopping before any write")
        assert caught.value.setting == "journal"
        states = rows(journal)
        posted = dz.count("POST", "/invoices$")
        assert posted < 14
        marked = {sid for sid, (state, attempts, _) in states.items() if attempts}
        assert len(marked) == posted  # every write sent was marked first, none after
        for sid, (state, attempts, _) in states.items():
            if state == "planned":
                assert attempts == 0
                assert copies(dz, sid) == []
        # the lease the other run left has expired: the next run takes it over
        report = asyncio.run(run(resume=True, verify=True))
        assert report.ok
        for n in range(1, 15):
            assert len(copies(dz, source_id_of_order(store, n))) == 1


# ---- DayZero -> a Salla store, carried as the source PDF ------------------------------------
@pytest.fixture
def pdf_move() -> Iterator[tuple[DayZeroSandbox, SallaSandbox, dict[str, str]]]:
    """Two DayZero invoices and two Salla orders to carry them to, as their PDFs."""
    with DayZeroSandbox() as dz, SallaSandbox() as salla:
        orders: dict[str, str] = {}
        with invoicekit.connect("dayzero", **dz.settings()) as dayzero:
            for n in (1, 2):
                who = dayzero.create_customer(Customer(name=f"Buyer {n}",
                                                       email=f"b{n}@example.com"))
                inv = dayzero.create_invoice(InvoiceDraft(
                    customer=Customer(id=who.id), currency="USD",
                    due_date=TODAY + dt.timedelta(days=30),
                    items=(LineItem(name=f"Widget {n}", quantity=Decimal(1),
                                    unit_price=Money("12.50", "USD")),)))
                orders[inv.id] = salla.add_order(email=f"b{n}@example.com")
        yield dz, salla, orders


def clean_pdf(times: int) -> Fault:
    """DayZero's PDF answer with a link Salla takes. (The sandbox's own links are signed,
    `...pdf?expires=...&signature=...`, which Salla's `.pdf` rule refuses: see the report.)"""
    return Fault.status_code(200, {"pdf_url": "https://files.example.com/invoice.pdf",
                                   "expires_at": "2030-01-01T00:00:00+00:00"},
                             method="GET", path="/pdf$", times=times)


def to_salla(pdf_move: tuple[DayZeroSandbox, SallaSandbox, dict[str, str]], journal: Path,
             fault: Fault) -> MigrationReport:
    """Plan both invoices (their PDFs fetched fine), then copy: the first copy's fetch is
    fine, the second's gets *fault*."""
    dz, salla_box, orders = pdf_move
    dz.faults.push(clean_pdf(2))

    def at_copy(tick: Progress) -> None:
        if tick.phase == "copy" and tick.done == 0:
            dz.faults.push(clean_pdf(1))
            dz.faults.push(fault)

    with invoicekit.connect("dayzero", **dz.settings()) as dayzero, \
            invoicekit.connect("salla", **salla_box.settings()) as salla:
        return migrate(dayzero, salla, journal=journal, progress=at_copy,
                       policy=MigrationPolicy(orders=OrderPolicy(mapping=orders,
                                                                 attach_pdf=True)))


def test_a_pdf_fetch_that_fails_at_copy_time_fails_that_invoice(
        pdf_move: tuple[DayZeroSandbox, SallaSandbox, dict[str, str]], tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    report = to_salla(pdf_move, journal, Fault.status_code(
        404, {"detail": "Invoice not found"}, method="GET", path="/pdf$"))
    ((victim, error),) = report.failures
    assert error.startswith("fetching its PDF failed: dayzero HTTP 404")
    assert "Invoice not found" in error
    assert rows(journal)[victim] == ("failed", 0, error)
    assert report.written == 1
    assert pdf_move[1].count("POST", "/orders/invoices$") == 1
    assert f"Failed (1; retried on the next run):\n  - {victim}: {error}\n" in report.render()
    assert not report.ok


def test_a_draft_refused_before_sending_fails_that_invoice_without_a_request(
        pdf_move: tuple[DayZeroSandbox, SallaSandbox, dict[str, str]], tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    # at copy time the PDF link DayZero gives is not a .pdf: Salla would refuse it, so
    # the target's own check refuses it before any request
    report = to_salla(pdf_move, journal, Fault.status_code(
        200, {"pdf_url": "https://files.example.com/invoice.html",
              "expires_at": "2030-01-01T00:00:00+00:00"}, method="GET", path="/pdf$"))
    ((victim, error),) = report.failures
    assert "must be an http(s) URL ending in .pdf (Salla accepts PDF links only)" in error
    assert rows(journal)[victim] == ("failed", 0, error)  # never sent: no attempt counted
    assert report.written == 1
    assert pdf_move[1].count("POST", "/orders/invoices$") == 1
    assert f"Failed (1; retried on the next run):\n  - {victim}: {error}\n" in report.render()
    assert not report.ok
