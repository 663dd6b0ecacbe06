"""Fixtures of the migration tests: fake gateways in the Salla and DayZero profiles,
a journal path, instant retry waits."""

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
    """A Salla-profile fake holding 30 varied invoices (see `salla_like_drafts`)."""
    gw = FakeGateway(FakeProvider(profile="salla", today=TODAY))
    gw.seed(*salla_like_drafts(30))
    return gw


@pytest.fixture
def dayzero() -> FakeGateway:
    """An empty DayZero-profile fake."""
    return FakeGateway(FakeProvider(profile="dayzero", today=TODAY))


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    """Where the test's journal lives."""
    return tmp_path / "journal.db"
