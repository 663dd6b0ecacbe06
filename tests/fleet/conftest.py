"""Fixtures of the fleet tests: real Redis and PostgreSQL servers for the session (both
skip, saying how to install them, where the binaries are missing), and the two sandboxes
on loopback sockets."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "migration"))

from fleet_support import redis_server
from pg_support import postgres_server

from invoicekit_dayzero.sandbox import DayZeroSandbox
from invoicekit_salla.sandbox import SallaSandbox


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis server for the session (the broker)."""
    with redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def journal_db() -> Iterator[str]:
    """An empty database on a real PostgreSQL server for the session (the journals)."""
    with postgres_server() as url:
        yield url


@pytest.fixture
def salla() -> Iterator[SallaSandbox]:
    """A Salla sandbox (the fleet adds one store per merchant)."""
    with SallaSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def dayzero() -> Iterator[DayZeroSandbox]:
    """A DayZero sandbox (the fleet adds one business per merchant)."""
    with DayZeroSandbox() as sandbox:
        yield sandbox
