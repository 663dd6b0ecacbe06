"""Against the real Salla API: run only with `SALLA_TOKEN` set (read-only calls).

```
SALLA_TOKEN=... pytest -m live plugins/salla/tests/test_salla_live.py
```

Nothing is created or sent: a test suite must not issue tax documents or email customers
of a real store. `SALLA_BASE_URL` overrides the API root.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import invoicekit
from invoicekit import Invoice, InvoiceQuery, InvoiceStatus, errors

TOKEN = os.environ.get("SALLA_TOKEN")
pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not TOKEN, reason="SALLA_TOKEN is not set; live tests are skipped"),
]


@pytest.fixture
def live() -> Iterator[invoicekit.Gateway]:
    settings: dict[str, str] = {"token": TOKEN or ""}
    if os.environ.get("SALLA_BASE_URL"):
        settings["base_url"] = os.environ["SALLA_BASE_URL"]
    with invoicekit.connect("salla", **settings) as gw:
        yield gw


def test_live_list_and_get(live: invoicekit.Gateway) -> None:
    first = next(iter(live.list_invoices(InvoiceQuery(page_size=5))), None)
    if first is None:
        pytest.skip("the store has no invoices to read")
    assert isinstance(first, Invoice)
    assert first.status is InvoiceStatus.ISSUED
    fetched = live.get_invoice(first.id)
    assert fetched.id == first.id
    assert fetched.currency == "SAR"


def test_live_missing_invoice_is_not_found(live: invoicekit.Gateway) -> None:
    with pytest.raises(errors.NotFound) as caught:
        live.get_invoice("1")
    assert caught.value.message
