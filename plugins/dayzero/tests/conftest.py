"""Fixtures for the DayZero plugin's tests: sandboxes, gateways, a recording transport."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import invoicekit
from invoicekit_dayzero.sandbox import DayZeroSandbox

sys.path.insert(0, str(Path(__file__).parent))

from dayzero_support import BUSINESS, TOKEN, Recorder


@pytest.fixture(autouse=True)
def _instant_waits(invoicekit_no_wait: None) -> None:
    """Retry backoff takes no time here (the pytest plugin's fixture restores it after)."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sandbox(dayzero_sandbox: DayZeroSandbox) -> DayZeroSandbox:
    """The plugin's own `dayzero_sandbox` fixture (so it is exercised too)."""
    return dayzero_sandbox


@pytest.fixture
def gw(sandbox: DayZeroSandbox) -> Iterator[invoicekit.Gateway]:
    with invoicekit.connect("dayzero", **sandbox.settings()) as gateway:
        yield gateway


@pytest.fixture
async def agw(sandbox: DayZeroSandbox) -> AsyncIterator[invoicekit.AsyncGateway]:
    async with invoicekit.connect_async("dayzero", **sandbox.settings()) as gateway:
        yield gateway


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def mock_gw(recorder: Recorder) -> Iterator[invoicekit.Gateway]:
    """A gateway whose requests go to `recorder` (no network)."""
    client = recorder.client()
    with invoicekit.connect("dayzero", token=TOKEN, business_id=BUSINESS,
                            user_email="owner@example.com", http_client=client) as gateway:
        yield gateway
    client.close()


