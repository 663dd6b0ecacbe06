"""The payloads the benchmarks convert: provider-shaped JSON and domain drafts.

The Salla invoice is the "Invoice Details" example of Salla's docs
(`../shared/specs/salla-invoice-details.md`) with *n* items, and with the quirks Salla's
examples show (amounts as numbers and as strings, the riyal as "ر.س", ids as numbers),
so the converter does the work it does in production. The DayZero invoice has the shape
the DayZero sandbox answers with.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from invoicekit import Customer, InvoiceDraft, LineItem, Money

__all__ = [
    "DAYZERO_CUSTOMER_ID",
    "dayzero_draft",
    "dayzero_invoice",
    "decode",
    "salla_draft",
    "salla_invoice",
    "salla_invoice_wire",
]

DAYZERO_CUSTOMER_ID = "8c2d5e71-3b4a-4f69-9e0d-1a2b3c4d5e6f"


def _amount(value: Any, currency: str = "SAR", **extra: Any) -> dict[str, Any]:
    return {"amount": value, "currency": currency, **extra}


def _salla_item(i: int) -> dict[str, Any]:
    price = Decimal("130") + i
    return {
        "id": 1670203268 + i,
        "product_id": str(977135276 + i),
        "item_id": 588287185 + i,
        "name": f"شاحن آنكر {1000 + i}",
        "sku": f"PRO-{i:03d}",
        "quantity": 1 + i % 3,
        "type": "product",
        "price": _amount(price),
        "discount": _amount(0),
        "tax": {"percent": 15, "amount": _amount(f"{price * Decimal('0.15'):.2f}")},
        "total": _amount(price * (1 + i % 3), "ر.س"),
    }


def salla_invoice(items: int) -> dict[str, Any]:
    """Salla's invoice-details `data` with *items* items, decoded as the plugin decodes it
    (JSON numbers with a fraction become `Decimal`)."""
    return decode(json.dumps(salla_invoice_wire(items), ensure_ascii=False))


def salla_invoice_wire(items: int) -> dict[str, Any]:
    """Salla's invoice-details `data` with *items* items, as plain JSON values (ready for
    `json.dumps`: the amounts Salla sends as numbers are ints and floats here)."""
    data = {
        "id": 1128904162,
        "invoice_number": "1",
        "uuid": "acde070d-8c4c-4f0d-9d8a-162843c10333",
        "order_id": 1152394206,
        "invoice_reference_id": "1233",
        "type": "Tax Invoice",
        "date": "2022-06-30",
        "qr_code": "SAVE20",
        "payment_method": "bank",
        "sub_total": _amount(130),
        "shipping_cost": _amount(23, taxable=True),
        "cod_cost": _amount(0, taxable=True),
        "discount": _amount("0.00"),
        "tax": {"percent": 15, "amount": _amount(35.3)},
        "total": _amount("188.30"),
        "items": [_salla_item(i) for i in range(items)],
    }
    return json.loads(json.dumps(data, default=str))  # type: ignore[no-any-return]


def dayzero_invoice(line_items: int = 3) -> dict[str, Any]:
    """A DayZero invoice as its API returns it (money in integer cents)."""
    lines = [
        {"id": f"0d8e4c1a-2b3c-4d5e-8f90-{i:012d}", "description": f"Consulting hour {i + 1}",
         "quantity": i + 1, "unit_price": 12550 + i * 100, "amount": (i + 1) * (12550 + i * 100),
         "variant_id": None}
        for i in range(line_items)
    ]
    total = sum(line["amount"] for line in lines)  # type: ignore[misc]
    return {
        "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "status": "open", "number": "INV-001",
        "currency": "USD", "customer_id": DAYZERO_CUSTOMER_ID, "customer_name": "Ada Lovelace",
        "customer_email": "ada@example.com", "description": "January work",
        "issue_date": "2031-01-01", "due_date": "2031-01-31", "line_items": lines,
        "subtotal": total, "total": total, "total_paid": 0, "balance_due": total,
        "pdf_url": None, "hosted_invoice_url": "https://pay.example/i/3fa85f64",
        "created_at": "2031-01-01T09:30:00+00:00", "updated_at": "2031-01-01T09:30:00+00:00",
    }


def decode(text: str | bytes) -> Any:
    """JSON as the providers' parsers decode it: fractions as exact `Decimal`s."""
    return json.loads(text, parse_float=Decimal)


def salla_draft(order_id: str = "1152394206") -> InvoiceDraft:
    """A Salla `data` draft: number, amounts and tax of an order's invoice."""
    return InvoiceDraft(
        order_id=order_id,
        number="INV-2031-0001",
        subtotal=Money("130.00", "SAR"),
        shipping=Money("23.00", "SAR"),
        cash_on_delivery=Money("0", "SAR"),
        tax_rate=Decimal("15"),
        tax=Money("22.95", "SAR"),
        total=Money("175.95", "SAR"),
    )


def dayzero_draft(items: int = 3) -> InvoiceDraft:
    """A DayZero draft for an existing customer with *items* whole-cent line items."""
    return InvoiceDraft(
        customer=Customer(id=DAYZERO_CUSTOMER_ID, name="Ada Lovelace", email="ada@example.com"),
        issue_date=dt.date(2031, 1, 1),
        due_date=dt.date(2031, 1, 31),
        description="January work",
        items=tuple(
            LineItem(name=f"Consulting hour {i + 1}", quantity=Decimal(i + 1),
                     unit_price=Money(Decimal("125.50") + i, "USD"))
            for i in range(items)
        ),
    )
