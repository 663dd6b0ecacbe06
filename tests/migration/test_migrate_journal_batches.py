"""Every write reaches the target only after its in-flight mark is committed.

The DayZero sandbox here reads the journal on a connection of its own (as another
process would after a crash) each time a create request arrives, before carrying it
out: the entry of the source invoice the request copies must already be in flight
there, with the draft being written. The async engine marks a batch of writes per
commit; these tests would fail if any write were sent before the commit holding its
mark (a mark grouped after the write, or a batch committed after its first write).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from migrate_support import TODAY, fill_salla_store, policy
from test_migrate_sandboxes import buyer_of

import invoicekit
from invoicekit.migration import (
    CustomerPolicy,
    Journal,
    MigrationPolicy,
    OrderPolicy,
    marker,
    migrate,
    migrate_async,
)
from invoicekit.testing import AsyncFakeGateway, FakeGateway, FakeProvider
from invoicekit.testing.sandbox import Route, SandboxRequest, SandboxResponse
from invoicekit_dayzero.sandbox import DayZeroSandbox
from invoicekit_salla.sandbox import SallaSandbox

ORDERS = 60



def marked_ids(text: str | None) -> list[str]:
    """The Salla invoice ids whose migration marker (`[invoicekit-migrate src=salla:ID]`)
    appears in *text*."""
    return re.findall(r"\[invoicekit-migrate src=salla:([^\]]+)\]", text or "")


Reader = Callable[[str], tuple[str, str | None, int] | None]
"""`(state, draft, attempts)` of a source invoice's entry, read on a second connection."""


class RouteWatcher(DayZeroSandbox):
    """A DayZero sandbox that hands each request to `watched_route` to `arrived` before
    carrying it out (and so before the target has anything of it)."""

    watched_route = ("POST", "/invoices")

    def arrived(self, request: SandboxRequest) -> None:
        raise NotImplementedError

    def routes(self) -> tuple[Route, ...]:
        return tuple(Route(r.method, r.pattern, self._watched(r.handler))
                     if (r.method, r.pattern) == self.watched_route else r
                     for r in super().routes())

    def _watched(self, handler: Any) -> Any:
        def watched(request: SandboxRequest, **params: str) -> SandboxResponse:
            self.arrived(request)
            response: SandboxResponse = handler(request, **params)
            return response
        return watched


class WatchingDayZero(RouteWatcher):
    """A DayZero sandbox that, when a create arrives, looks the source invoice up in the
    journal before creating anything, and remembers what it saw."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reader: Reader | None = None
        self.seen: list[tuple[str, tuple[str, str | None, int] | None]] = []

    def arrived(self, request: SandboxRequest) -> None:
        assert self.reader is not None
        for sid in marked_ids(request.json().get("description") or ""):
            self.seen.append((sid, self.reader(sid)))


def read_only_row(path: Path, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """One row of the journal at *path*, read on a connection of its own (as another
    process would)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        row: tuple[Any, ...] | None = db.execute(sql, params).fetchone()
    finally:
        db.close()
    return row


def sqlite_reader(path: Path) -> Reader:
    def read(source_id: str) -> tuple[str, str | None, int] | None:
        row = read_only_row(path, "SELECT state, draft, attempts FROM entries "
                                  "WHERE source_id = ?", (source_id,))
        return None if row is None else (row[0], row[1], int(row[2]))
    return read


@pytest.fixture
def store() -> Iterator[tuple[SallaSandbox, dict[str, str]]]:
    with SallaSandbox() as sandbox:
        yield sandbox, fill_salla_store(sandbox, ORDERS)


def stated(salla: SallaSandbox) -> MigrationPolicy:
    """The policy of these runs: customers created by email, found through the order."""
    return policy(customers=CustomerPolicy(create_by_email=True, resolver=buyer_of(salla)))


def migrate_async_from(salla: SallaSandbox, dz: DayZeroSandbox, journal: Path | str,
                       **options: Any) -> invoicekit.MigrationReport:
    """`migrate_async` from *salla* to *dz* with `stated`'s policy; *options* go along."""
    async def main() -> invoicekit.MigrationReport:
        async with invoicekit.connect_async("salla", **salla.settings()) as src, \
                invoicekit.connect_async("dayzero", **dz.settings()) as dst:
            return await migrate_async(src, dst, journal=journal, policy=stated(salla),
                                       **options)
    report = asyncio.run(main())
    assert report.ok, report.render()
    return report


def check_every_write_was_marked_first(dz: WatchingDayZero, written: int) -> None:
    """Each create found its entry in flight (first attempt) with the draft written."""
    assert written > 40  # most of the store is ready to copy
    assert len(dz.seen) == written
    assert len({sid for sid, _ in dz.seen}) == written
    for sid, row in dz.seen:
        assert row is not None, f"{sid}: no journal entry when its write arrived"
        state, draft, attempts = row
        assert (sid, state, attempts) == (sid, "in_flight", 1)
        assert draft is not None
        # the draft journaled is the one being written: its lines, its customer id
        stored = json.loads(draft)
        copy = next(inv for inv in dz.invoices.values()
                    if marker("salla", sid) in (inv["description"] or ""))
        assert len(stored["items"]) == len(copy["line_items"])
        assert stored["customer"]["id"] == copy["customer_id"]


@pytest.mark.parametrize("concurrency", [1, 3, 8])
def test_async_writes_are_sent_only_after_their_in_flight_mark_is_committed(
        store: tuple[SallaSandbox, dict[str, str]], tmp_path: Path, concurrency: int) -> None:
    salla, _ = store
    journal = tmp_path / "journal.db"
    with WatchingDayZero() as dz:
        dz.reader = sqlite_reader(journal)
        report = migrate_async_from(salla, dz, journal, concurrency=concurrency, page_size=25)
        check_every_write_was_marked_first(dz, report.written)


def test_sync_writes_are_sent_only_after_their_in_flight_mark_is_committed(
        store: tuple[SallaSandbox, dict[str, str]], tmp_path: Path) -> None:
    salla, _ = store
    journal = tmp_path / "journal.db"
    with WatchingDayZero() as dz, \
            invoicekit.connect("salla", **salla.settings()) as src, \
            invoicekit.connect("dayzero", **dz.settings()) as dst:
        dz.reader = sqlite_reader(journal)
        report = migrate(src, dst, journal=journal, policy=stated(salla))
        assert report.ok, report.render()
        check_every_write_was_marked_first(dz, report.written)


def test_async_customers_are_created_only_after_their_in_flight_mark_is_committed(
        store: tuple[SallaSandbox, dict[str, str]], tmp_path: Path) -> None:
    """Customers are marked in flight (all of them, in one commit) before any is created:
    each create finds its key in flight."""
    salla, _ = store
    journal = tmp_path / "journal.db"
    seen: list[tuple[str, str | None]] = []

    class Watching(RouteWatcher):
        watched_route = ("POST", "/customers")

        def arrived(self, request: SandboxRequest) -> None:
            key = "email:" + str(request.json()["email"]).strip().lower()
            row = read_only_row(journal, "SELECT state FROM customers WHERE key = ?", (key,))
            seen.append((key, None if row is None else row[0]))

    with Watching() as dz:
        report = migrate_async_from(salla, dz, journal, concurrency=8)
        assert report.customers_created == len(seen) == len(dz.customers)
        assert len(seen) > 8  # more than one batch
        assert all(state == "in_flight" for _, state in seen), seen
    # and each one's id was recorded, done, in the journal
    db = sqlite3.connect(journal)
    try:
        rows = db.execute("SELECT key, state, target_id FROM customers").fetchall()
    finally:
        db.close()
    assert sorted(k for k, _ in seen) == sorted(k for k, _, _ in rows)
    assert {state for _, state, _ in rows} == {"done"}
    assert {tid for _, _, tid in rows} == set(dz.customers)


def test_async_writes_with_a_postgresql_journal_are_sent_only_after_their_mark(
        store: tuple[SallaSandbox, dict[str, str]], postgres_url: str) -> None:
    import psycopg

    salla, _ = store
    migration = f"mark-first-{uuid.uuid4().hex[:8]}"
    journal = f"{postgres_url}?migration={migration}"
    with contextlib.closing(psycopg.connect(postgres_url, autocommit=True)) as watch, \
            WatchingDayZero() as dz:
        def read(source_id: str) -> tuple[str, str | None, int] | None:
            row = watch.execute(
                "SELECT state, draft, attempts FROM entries WHERE migration = %s "
                "AND source_id = %s", (migration, source_id)).fetchone()
            return None if row is None else (row[0], row[1], int(row[2]))

        dz.reader = read
        report = migrate_async_from(salla, dz, journal, concurrency=8, page_size=25)
        check_every_write_was_marked_first(dz, report.written)


# ---- the journal's batch methods -----------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def batch_journal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Journal]:
    if request.param == "sqlite":
        location = str(tmp_path / "batches.db")
    else:
        url = request.getfixturevalue("postgres_url")
        location = f"{url}?migration=batches-{uuid.uuid4().hex[:8]}"
    journal = Journal(location, source="salla", target="dayzero", resume=False)
    yield journal
    journal.close()


def planned(journal: Journal, *source_ids: str) -> None:
    with journal.transaction() as db:
        for sid in source_ids:
            journal.upsert(db, source_id=sid, source_number=f"N-{sid}", kind="invoice",
                           fingerprint="fp", category="ready", reason=None, customer_key=None,
                           customer_email=None, customer_name=None, draft='{"v": 1}',
                           state="planned")


def test_marks_done_records_each_copy_of_a_batch_and_no_other(batch_journal: Journal) -> None:
    planned(batch_journal, "1", "2", "3")
    batch_journal.mark_in_flight(("1", '{"v": 2}'), ("2", '{"v": 2}'), ("3", '{"v": 2}'))
    batch_journal.marks_done(("1", "dz-1", None), ("3", "dz-3", "2 copies found: dz-3, dz-9"))
    rows = {e.source_id: (e.state, e.target_id, e.error)
            for e in batch_journal.entries()}
    assert rows == {"1": ("done", "dz-1", None), "2": ("in_flight", None, None),
                    "3": ("done", "dz-3", "2 copies found: dz-3, dz-9")}


def test_customers_of_a_batch_are_marked_in_flight_then_done_together(
        batch_journal: Journal) -> None:
    batch_journal.customer_in_flight("email:a@example.sa", "email:b@example.sa",
                                     "email:c@example.sa")
    assert sorted(batch_journal.customers_in_flight()) == [
        "email:a@example.sa", "email:b@example.sa", "email:c@example.sa"]
    batch_journal.customers_done(("email:a@example.sa", "c-1"), ("email:c@example.sa", "c-3"))
    assert batch_journal.customer("email:a@example.sa") == ("c-1", "done")
    assert batch_journal.customer("email:b@example.sa") == (None, "in_flight")
    assert batch_journal.customer("email:c@example.sa") == ("c-3", "done")
    assert batch_journal.customers_in_flight() == ["email:b@example.sa"]


def test_async_batches_fetch_each_source_pdf_and_carry_it(tmp_path: Path) -> None:
    """With `attach_pdf`, preparing a batch fetches each invoice's PDF (concurrently);
    every copy carries its own source document."""
    source = FakeGateway(FakeProvider(today=TODAY))
    originals = source.seed(*(source.sample_draft(n) for n in range(1, 8)))
    target = AsyncFakeGateway(profile="salla", today=TODAY)
    assert target.sandbox is not None
    orders = {inv.id: target.sandbox.add_order() for inv in originals}  # type: ignore[attr-defined]
    policy = MigrationPolicy(orders=OrderPolicy(resolver=lambda inv: orders[inv.id],
                                                attach_pdf=True))
    report = asyncio.run(migrate_async(AsyncFakeGateway(source.fake), target,
                                       journal=tmp_path / "j.db", policy=policy,
                                       concurrency=3, verify=True))
    assert report.ok, report.render()
    assert report.written == 7
    pdfs = {inv.order_id: inv.pdf_url for inv in target.invoices}
    assert pdfs == {orders[inv.id]: inv.pdf_url for inv in originals}
    assert all((url or "").endswith(".pdf") for url in pdfs.values())
    assert len(set(pdfs.values())) == 7
