"""Fixtures of the migration tests: fake gateways in the Salla and DayZero profiles,
a journal path, instant retry waits."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from invoicekit._http import testing_instant_waits
from invoicekit.testing import FakeGateway, FakeProvider

sys.path.insert(0, str(Path(__file__).parent))

from migrate_support import TODAY, salla_like_drafts


@pytest.fixture(autouse=True)
def _instant_waits() -> Iterator[None]:
    from invoicekit import _http

    before = _http._instant_waits
    testing_instant_waits(True)
    yield
    testing_instant_waits(before)


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
