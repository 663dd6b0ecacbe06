"""Sandboxes for the HTTP figures, seeded cheaply.

Seeding goes through one real `POST /invoices` (so the stored shape is exactly what the
sandbox makes), then clones that record in the sandbox's state with fresh ids: 100,000
invoices take a second instead of 100,000 HTTP round trips.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx

__all__ = ["dayzero_sandbox", "headers_of", "seed_dayzero"]


def dayzero_sandbox(**kwargs: Any) -> Any:
    """A started `DayZeroSandbox` (the caller stops it)."""
    from invoicekit_dayzero.sandbox import DayZeroSandbox

    return DayZeroSandbox(**kwargs).start()


def headers_of(settings: dict[str, str]) -> dict[str, str]:
    """The headers a bare-httpx client needs for the DayZero sandbox."""
    return {"Authorization": f"Bearer {settings['token']}",
            "x-business-id": settings["business_id"], "Accept": "application/json"}


def seed_dayzero(sandbox: Any, count: int, *, status: str = "open", lines: int = 3
                 ) -> list[str]:
    """Put *count* invoices (*lines* line items each) in *sandbox*'s default business; their ids."""
    settings = sandbox.settings()
    headers = headers_of(settings)
    with httpx.Client(base_url=settings["base_url"], headers=headers) as client:
        customer = client.post("/customers", json={"name": "Ada Lovelace",
                                                   "email": "ada@example.com"}).json()
        customer = customer.get("data", customer)
        template = client.post("/invoices", json={
            "customer_id": customer["id"], "due_date": "2031-01-31", "issue_date": "2031-01-01",
            "description": "January work", "currency": "USD",
            "line_items": [{"description": f"Consulting hour {i + 1}", "quantity": i + 1,
                            "unit_price": 12550 + 100 * i} for i in range(lines)],
        }).json()
    template = template.get("data", template)
    ids = [template["id"]]
    with sandbox.lock:
        stored = sandbox.invoices[template["id"]]
        stored["status"] = status
        stored["number"] = "INV-00001"
        for n in range(1, count):
            clone = copy.deepcopy(stored)
            clone["id"] = str(uuid.uuid4())
            clone["number"] = f"INV-{n + 1:05d}"
            for line in clone["line_items"]:
                line["id"] = str(uuid.uuid4())
            sandbox._sequence += 1
            clone["_seq"] = sandbox._sequence
            sandbox.invoices[clone["id"]] = clone
            ids.append(clone["id"])
    return ids
