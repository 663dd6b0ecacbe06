"""The in-flight mark is on disk before the write reaches the target, in both engines.

The DayZero sandbox below reads the journal file through a connection of its own at the
moment each create request arrives, before it answers: it sees what is committed at that
instant (committed with `synchronous=FULL`, which `test_journal_promises.py` checks: what a
run after a power cut would find). Every invoice it is asked to create must already be
`in_flight` there, with its attempt counted.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from migrate_support import fill_salla_store, policy

import invoicekit
from invoicekit import Customer, Invoice
from invoicekit.migration import CustomerPolicy, MigrationPolicy, marker, migrate, migrate_async
from invoicekit.testing.sandbox import Route, SandboxRequest
from invoicekit_dayzero.sandbox import DayZeroSandbox
from invoicekit_salla.sandbox import SallaSandbox


class Watching(DayZeroSandbox):
    """DayZero that notes, for each invoice it is asked to create, the journal's record of
    it as another connection reads the file then: `(source id, state, attempts)`."""

    def __init__(self, journal: Path, sources: Iterable[str]) -> None:
        super().__init__()
        self.journal = journal
        self.sources = list(sources)
        self.seen: list[tuple[str, str, int]] = []

    def _watched(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        def create(request: SandboxRequest, **params: Any) -> Any:
            body = json.dumps(request.json())
            (source,) = [s for s in self.sources if marker("salla", s) in body]
            db = sqlite3.connect(f"file:{self.journal}?mode=ro", uri=True)
            try:
                ((state, attempts),) = db.execute(
                    "SELECT state, attempts FROM entries WHERE source_id = ?", (source,))
            finally:
                db.close()
            self.seen.append((source, state, attempts))
            return handler(request, **params)
        return create

    def routes(self) -> Iterable[Route]:
        for route in super().routes():
            if route.method == "POST" and route.pattern == "/invoices":
                yield Route(route.method, route.pattern, self._watched(route.handler))
            else:
                yield route


@pytest.fixture
def store() -> Iterator[tuple[SallaSandbox, list[str]]]:
    """6 ready Salla invoices (every buyer has an email)."""
    with SallaSandbox() as sandbox:
        verdicts = fill_salla_store(sandbox, 6)
        assert sorted(verdicts.values()) == ["ready"] * 6
        yield sandbox, list(verdicts)


def stated(sandbox: SallaSandbox) -> MigrationPolicy:
    def resolve(invoice: Invoice) -> Customer | None:
        buyer = sandbox.orders[str(invoice.order_id)]["customer"]
        return Customer(name=buyer["name"], email=buyer["email"])
    return policy(customers=CustomerPolicy(create_by_email=True, resolver=resolve))


def test_each_write_is_in_flight_on_disk_before_it_is_sent(
        store: tuple[SallaSandbox, list[str]], tmp_path: Path) -> None:
    salla_box, sources = store
    journal = tmp_path / "j.db"
    with Watching(journal, sources) as dz, \
            invoicekit.connect("salla", **salla_box.settings()) as salla, \
            invoicekit.connect("dayzero", **dz.settings()) as dayzero:
        report = migrate(salla, dayzero, journal=journal, policy=stated(salla_box))
    assert report.written == 6
    assert sorted(dz.seen) == sorted((s, "in_flight", 1) for s in sources)


def test_each_write_of_the_async_engine_is_in_flight_on_disk_before_it_is_sent(
        store: tuple[SallaSandbox, list[str]], tmp_path: Path) -> None:
    salla_box, sources = store
    journal = tmp_path / "j.db"

    async def run(dz: Watching) -> int:
        async with invoicekit.connect_async("salla", **salla_box.settings()) as salla, \
                invoicekit.connect_async("dayzero", **dz.settings()) as dayzero:
            report = await migrate_async(salla, dayzero, journal=journal,
                                         policy=stated(salla_box), concurrency=3)
            return report.written

    with Watching(journal, sources) as dz:
        assert asyncio.run(run(dz)) == 6
    assert sorted(dz.seen) == sorted((s, "in_flight", 1) for s in sources)
