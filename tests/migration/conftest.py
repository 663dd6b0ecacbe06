"""Fixtures of the migration tests: a Salla-like store on the neutral fake (SAR, Arabic
names, credit notes, customers on the invoices), the DayZero profile of the fake (the DayZero
plugin on its sandbox, in process) as the target, a journal path, instant retry waits."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from invoicekit.testing import FakeGateway, FakeProvider

sys.path.insert(0, str(Path(__file__).parent))

from migrate_support import TODAY, salla_like_drafts


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
