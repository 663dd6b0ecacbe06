"""pytest plugin (entry point `pytest11`): fixtures for testing apps against invoicekit.

Installed with invoicekit, it offers:

* `invoicekit_fake`: a fresh `FakeGateway` per test;
* `invoicekit_async_fake`: a fresh `AsyncFakeGateway` per test;
* `invoicekit_no_wait`: retry backoff and throttle waits take no time during the test.

Pick the fake's profile per test or class with `@pytest.mark.invoicekit_profile("salla")`,
or for the whole suite with the ini option `invoicekit_profile = dayzero`.

The plugin is loaded into every pytest run of a project that has invoicekit installed,
so it imports nothing heavy up front: invoicekit itself loads when a fixture is first used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ._fake import AsyncFakeGateway, FakeGateway

__all__ = [
    "invoicekit_async_fake",
    "invoicekit_fake",
    "invoicekit_no_wait",
    "pytest_addoption",
    "pytest_configure",
]

MARKER = "invoicekit_profile"
INI = "invoicekit_profile"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ini option `invoicekit_profile` (default profile of the fixtures)."""
    parser.addini(INI, "profile of the invoicekit_fake fixtures: default, salla or dayzero",
                  default="default")


def pytest_configure(config: pytest.Config) -> None:
    """Register the `invoicekit_profile` and `live` markers, so `--strict-markers`
    accepts them (`live` marks tests against a real provider API, as the docs show)."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(name): profile of the invoicekit_fake fixtures (default, salla, dayzero)")
    config.addinivalue_line(
        "markers", "live: talks to a real provider API; needs credentials in the environment")


def _profile(request: pytest.FixtureRequest) -> str:
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        if len(marker.args) != 1 or not isinstance(marker.args[0], str) or marker.kwargs:
            raise pytest.UsageError(
                f'use @pytest.mark.{MARKER}("salla"): one profile name, got {marker!r}')
        return str(marker.args[0])
    return str(request.config.getini(INI) or "default")


@pytest.fixture
def invoicekit_fake(request: pytest.FixtureRequest) -> Iterator[FakeGateway]:
    """A fresh in-memory `FakeGateway` (profile from the marker or the ini option)."""
    from ._fake import FakeGateway

    with FakeGateway(profile=_profile(request)) as gateway:
        yield gateway


@pytest.fixture
def invoicekit_async_fake(request: pytest.FixtureRequest) -> AsyncFakeGateway:
    """A fresh in-memory `AsyncFakeGateway` (profile from the marker or the ini option).

    It needs no closing: the fake holds no connection, so it works in any event loop.
    """
    from ._fake import AsyncFakeGateway

    return AsyncFakeGateway(profile=_profile(request))


@pytest.fixture
def invoicekit_no_wait() -> Iterator[None]:
    """Make retry backoff and throttle waits instant for this test, then restore them."""
    from . import instant_waits

    previous = instant_waits(True)
    try:
        yield
    finally:
        instant_waits(previous)
