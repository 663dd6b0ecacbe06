"""Against the real DayZero API: only when `DAYZERO_TOKEN` and `DAYZERO_BUSINESS_ID` are set.

Read-only apart from one draft invoice (created, then left as a draft: DayZero documents no
way to delete it). `DAYZERO_CUSTOMER_ID` names the customer it is created for; without it
the write test is skipped too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from dayzero_support import make_draft

import invoicekit
from invoicekit import Customer, InvoiceQuery, InvoiceStatus, errors

TOKEN = os.environ.get("DAYZERO_TOKEN")
BUSINESS = os.environ.get("DAYZERO_BUSINESS_ID")

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not (TOKEN and BUSINESS),
                       reason="set DAYZERO_TOKEN and DAYZERO_BUSINESS_ID to run live tests"),
]


@pytest.fixture
def live() -> Iterator[invoicekit.Gateway]:
    settings = {"token": TOKEN, "business_id": BUSINESS}
    if os.environ.get("DAYZERO_BASE_URL"):
        settings["base_url"] = os.environ["DAYZERO_BASE_URL"]
    with invoicekit.connect("dayzero", **settings) as gw:
        yield gw


def test_live_list_and_get(live: invoicekit.Gateway) -> None:
    first = next(iter(live.list_invoices(InvoiceQuery(page_size=5))), None)
    if first is None:
        pytest.skip("the business has no invoices yet")
    again = live.get_invoice(first.id)
    assert again.id == first.id
    assert again.total == first.total


def test_live_missing_invoice(live: invoicekit.Gateway) -> None:
    with pytest.raises(errors.NotFound) as info:
        live.get_invoice("00000000-0000-4000-8000-000000000000")
    assert (info.value.provider, info.value.status) == ("dayzero", 404)


@pytest.mark.skipif(not os.environ.get("DAYZERO_CUSTOMER_ID"),
                    reason="set DAYZERO_CUSTOMER_ID to create a live draft")
def test_live_create_draft(live: invoicekit.Gateway) -> None:
    customer = Customer(id=os.environ["DAYZERO_CUSTOMER_ID"])
    invoice = live.create_invoice(make_draft(1, customer=customer))
    assert invoice.status is InvoiceStatus.DRAFT
    assert live.get_invoice(invoice.id).id == invoice.id
