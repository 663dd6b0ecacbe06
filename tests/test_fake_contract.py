"""The shared contract suite run against the fake, in every profile, sync and async.

The platform profiles are the plugins' own providers on their own sandboxes (in process),
so these runs are also the contract suite against each sandbox, without a socket.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from invoicekit import InvoiceDraft
from invoicekit.testing import AsyncFakeGateway, FakeGateway
from invoicekit.testing.contract import AsyncGatewayContract, DraftFactory, GatewayContract

MISSING = {"default": "inv_999999", "salla": "999999999",
           "dayzero": "00000000-0000-4000-8000-000000000000"}
INVALID = {"default": "inv_../1", "salla": "12/../3", "dayzero": "not-a-uuid"}


class _FakeFixtures:
    profile = "default"

    @pytest.fixture
    def missing_id(self) -> str:
        return MISSING[self.profile]

    @pytest.fixture
    def invalid_id(self) -> str:
        return INVALID[self.profile]


class _Sync(_FakeFixtures, GatewayContract):
    @pytest.fixture
    def gateway(self) -> Iterator[FakeGateway]:
        with FakeGateway(profile=self.profile) as gw:
            yield gw

    @pytest.fixture
    def make_draft(self, gateway: FakeGateway) -> DraftFactory:
        return gateway.sample_draft


class _Async(_FakeFixtures, AsyncGatewayContract):
    @pytest.fixture
    def agateway(self) -> AsyncFakeGateway:
        return AsyncFakeGateway(profile=self.profile)

    @pytest.fixture
    def make_draft(self, agateway: AsyncFakeGateway) -> DraftFactory:
        return agateway.sample_draft


class TestDefaultContract(_Sync):
    profile = "default"


class TestSallaContract(_Sync):
    profile = "salla"


class TestDayZeroContract(_Sync):
    profile = "dayzero"


class TestDefaultAsyncContract(_Async):
    profile = "default"


class TestSallaAsyncContract(_Async):
    profile = "salla"


class TestDayZeroAsyncContract(_Async):
    profile = "dayzero"


class TestSallaSharpBadDraft(_Sync):
    """`bad_draft` can be overridden: a Salla draft without its required totals."""

    profile = "salla"

    @pytest.fixture
    def bad_draft(self) -> InvoiceDraft:
        return InvoiceDraft(order_id="123", number="N-1")
