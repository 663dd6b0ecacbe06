"""Fixtures of the migration tests: fake gateways in the Salla and DayZero profiles,
a journal path, instant retry waits, a real PostgreSQL server for the journal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from invoicekit.testing import FakeGateway, FakeProvider

sys.path.insert(0, str(Path(__file__).parent))

from migrate_support import TODAY, salla_like_drafts
from pg_support import postgres_server


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


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """An empty database on a real PostgreSQL server started for this session (skips,
    saying how to install it, where the server or psycopg is missing)."""
    with postgres_server() as url:
        yield url
