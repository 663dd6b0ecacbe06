"""The core's gateway contract, run against the Salla sandbox over real sockets."""

from __future__ import annotations

import pytest

import invoicekit
from invoicekit import InvoiceDraft
from invoicekit.testing.contract import AsyncGatewayContract, DraftFactory, GatewayContract
from invoicekit_salla.sandbox import SallaSandbox


class _SallaFixtures:
    @pytest.fixture
    def make_draft(self, make_order_draft: DraftFactory) -> DraftFactory:
        return make_order_draft

    @pytest.fixture
    def missing_id(self) -> str:
        return "999999999"

    @pytest.fixture
    def invalid_id(self) -> str:
        return "12/../3"

    @pytest.fixture
    def bad_draft(self) -> InvoiceDraft:
        # A document URL that is not a PDF: Salla refuses it, so must check_draft.
        return InvoiceDraft(order_id="1000001", document_url="https://example.com/invoice.html")


class TestSallaContract(_SallaFixtures, GatewayContract):
    @pytest.fixture
    def gateway(self, gw: invoicekit.Gateway) -> invoicekit.Gateway:
        return gw


class TestSallaAsyncContract(_SallaFixtures, AsyncGatewayContract):
    @pytest.fixture
    def agateway(self, sandbox: SallaSandbox) -> invoicekit.AsyncGateway:
        return invoicekit.connect_async("salla", **sandbox.settings())
