"""Fixtures of the migration tests: a Salla-like store on the neutral fake (SAR, Arabic
names, credit notes, customers on the invoices), the DayZero profile of the fake (the DayZero
plugin on its sandbox, in process) as the target, a journal path, instant retry waits, and a
real PostgreSQL server for the journal."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from invoicekit.testing import FakeGateway, FakeProvider
from invoicekit_dayzero.sandbox import DayZeroSandbox
from invoicekit_salla.sandbox import SallaSandbox

sys.path.insert(0, str(Path(__file__).parent))

from migrate_support import TODAY, VirtualClock, fill_salla_store, salla_like_drafts
from pg_support import postgres_server


@pytest.fixture(autouse=True)
def _instant_waits(invoicekit_no_wait: None) -> None:
    """Retry backoff takes no time here (the pytest plugin's fixture restores it after)."""


@pytest.fixture
def salla() -> FakeGateway:
    """The neutral fake holding 30 varied Salla-like invoices (see `salla_like_drafts`)."""
    gw = FakeGateway(FakeProvider(today=TODAY))
    gw.seed(*salla_like_drafts(30))
    return gw


@pytest.fixture
def dayzero() -> FakeGateway:
    """An empty DayZero-profile fake: the DayZero plugin on its own sandbox."""
    return FakeGateway(profile="dayzero", today=TODAY)


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    """Where the test's journal lives."""
    return tmp_path / "journal.db"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """An empty database on a real PostgreSQL server started for this session (skips,
    saying how to install it, where the server or psycopg is missing)."""
    with postgres_server() as url:
        yield url


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> VirtualClock:
    """`time.time` and `time.sleep` on a virtual clock for the test (see `VirtualClock`)."""
    virtual = VirtualClock(1_767_225_600.0)  # 2026-01-01T00:00:00Z
    monkeypatch.setattr(time, "time", virtual.time)
    monkeypatch.setattr(time, "sleep", virtual.sleep)
    return virtual


@pytest.fixture
def sandboxes() -> Iterator[tuple[SallaSandbox, DayZeroSandbox, dict[str, str]]]:
    """A Salla sandbox holding 60 orders' invoices, an empty DayZero sandbox, and the
    verdict each Salla invoice should get (`fill_salla_store`)."""
    with SallaSandbox() as salla, DayZeroSandbox() as dz:
        yield salla, dz, fill_salla_store(salla, 60)
