"""Helpers shared by the DayZero plugin's tests (imported through conftest's sys.path entry)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from invoicekit import Customer, InvoiceDraft, LineItem, Money

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "dz_test_canary_5f3e9b1d7c"
BUSINESS = "0b7e3c1a-9d2f-4e8b-a6c5-3f1d2e4b5a69"
INVOICE_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
CUSTOMER_ID = "8c2d5e71-3b4a-4f69-9e0d-1a2b3c4d5e6f"


def load_fixture(name: str) -> Any:
    """A JSON fixture from `tests/fixtures/`."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


_NEW_CUSTOMER = Customer(name="Ada Lovelace", email="ada@example.com")


def make_draft(n: int = 1, *, customer: Customer | None = _NEW_CUSTOMER, currency: str = "USD",
               **changes: Any) -> InvoiceDraft:
    """A sendable DayZero draft with *n* line items; a new customer (no id) unless given."""
    items = tuple(
        LineItem(name=f"Consulting hour {i + 1}", quantity=Decimal(i + 1),
                 unit_price=Money(Decimal("125.50") + i, currency))
        for i in range(n)
    )
    fields: dict[str, Any] = {
        "customer": customer,
        "due_date": dt.date(2031, 1, 31),
        "issue_date": dt.date(2031, 1, 1),
        "items": items,
        "description": "January work",
    }
    fields.update(changes)
    return InvoiceDraft(**fields)


class Recorder:
    """An `httpx.MockTransport` that records requests and answers from a script."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._answers: list[Callable[[httpx.Request], httpx.Response]] = []

    def reply(self, status: int, body: Any = None, *, headers: dict[str, str] | None = None,
              content: bytes | None = None) -> Recorder:
        """Queue an answer (JSON *body*, or raw *content*)."""
        def answer(request: httpx.Request) -> httpx.Response:
            if content is not None:
                return httpx.Response(status, content=content, headers=headers)
            return httpx.Response(status, json=body, headers=headers)
        self._answers.append(answer)
        return self

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self._answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        return self._answers.pop(0)(request)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handler))

    def async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def wire_invoice(**changes: Any) -> dict[str, Any]:
    """A DayZero invoice payload as the API returns it."""
    data: dict[str, Any] = {
        "id": INVOICE_ID, "status": "open", "number": "INV-007", "currency": "USD",
        "customer_id": CUSTOMER_ID, "customer_name": "Ada Lovelace",
        "customer_email": "ada@example.com", "issue_date": "2031-01-01",
        "due_date": "2031-01-31", "description": "January work",
        "line_items": [{"id": "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d",
                        "description": "Consulting", "quantity": 3, "unit_price": 12550,
                        "amount": 37650}],
        "subtotal": 37650, "total": 37650, "total_paid": 0, "balance_due": 37650,
        "pdf_url": None, "hosted_invoice_url": "https://pay.ondayzero.com/i/x",
        "created_at": "2031-01-01T09:30:00Z",
    }
    data.update(changes)
    return data


