"""The core contract suite, run against the DayZero sandbox, sync and async."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import attrs
import pytest

import invoicekit
from invoicekit import Customer, InvoiceDraft, LineItem, Money
from invoicekit.testing.contract import AsyncGatewayContract, DraftFactory, GatewayContract
from invoicekit_dayzero.sandbox import DayZeroSandbox


@pytest.fixture(scope="module")
def contract_sandbox() -> Iterator[DayZeroSandbox]:
    with DayZeroSandbox() as sandbox:
        yield sandbox


def _draft(n: int) -> InvoiceDraft:
    price = Money.from_minor(1000 + n, "USD")
    items = (LineItem(name=f"Contract item {n}", quantity=2, unit_price=price),
             LineItem(name="Setup", quantity=1, unit_price=Money("15.00", "USD")))
    return InvoiceDraft(
        customer=Customer(name=f"Contract customer {n}", email=f"contract{n}@example.com"),
        due_date=dt.date(2031, 6, 30),
        items=items,
        total=price * 2 + Money("15.00", "USD"),
        description=f"contract run {n}",
    )


class _DayZeroFixtures:
    @pytest.fixture
    def make_draft(self) -> DraftFactory:
        return _draft

    @pytest.fixture
    def missing_id(self) -> str:
        return "00000000-0000-4000-8000-000000000000"

    @pytest.fixture
    def invalid_id(self) -> str:
        return "../invoices"

    @pytest.fixture
    def bad_draft(self) -> InvoiceDraft:
        """Well formed, but in a currency DayZero does not have."""
        sar = LineItem(name="Riyal item", quantity=1, unit_price=Money("1", "SAR"))
        return attrs.evolve(_draft(1), items=(sar,), total=None)


class TestDayZeroContract(_DayZeroFixtures, GatewayContract):
    @pytest.fixture
    def gateway(self, contract_sandbox: DayZeroSandbox) -> Iterator[invoicekit.Gateway]:
        with invoicekit.connect("dayzero", **contract_sandbox.settings()) as gw:
            yield gw


class TestDayZeroAsyncContract(_DayZeroFixtures, AsyncGatewayContract):
    @pytest.fixture
    def agateway(self, contract_sandbox: DayZeroSandbox) -> invoicekit.AsyncGateway:
        return invoicekit.connect_async("dayzero", **contract_sandbox.settings())
