"""Helpers shared by the migration tests.

`salla_like_drafts(n)` builds a Salla store's worth of varied drafts for the fake (SAR,
Arabic names, credit notes, shipping, 15% VAT, some customers without email, a few
fractional quantities); `policy()` is the stated Salla -> DayZero policy;
`fill_salla_store()` fills the Salla sandbox the same way over its API.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from invoicekit import Customer, InvoiceDraft, InvoiceKind, LineItem, Money
from invoicekit.migration import CurrencyPolicy, CustomerPolicy, MigrationPolicy

RATE = Decimal("0.2666")
TODAY = dt.date(2026, 3, 1)


def policy(**changes: object) -> MigrationPolicy:
    """The stated Salla -> DayZero policy: SAR at 0.2666 USD, customers created by email,
    due 30 days after issue, extras (shipping, VAT) as line items."""
    settings: dict[str, object] = {
        "currency": CurrencyPolicy({("SAR", "USD"): RATE}),
        "customers": CustomerPolicy(create_by_email=True),
        "due_days": 30,
        "extras_as_lines": True,
    }
    settings.update(changes)
    return MigrationPolicy(**settings)  # type: ignore[arg-type]


def salla_like_drafts(n: int) -> list[InvoiceDraft]:
    """*n* drafts as a Salla store holds them; every 10th customer has no email, every
    12th draft is a credit note on the previous order, every 25th has a fractional
    quantity (DayZero cannot carry it)."""
    drafts: list[InvoiceDraft] = []
    last_order = None
    for i in range(1, n + 1):
        sar = "SAR"
        if i % 12 == 0 and last_order is not None:
            amount = Money(f"{10 + i % 7}.50", sar)
            drafts.append(InvoiceDraft(
                kind=InvoiceKind.CREDIT_NOTE, order_id=last_order, number=f"CN-{i:05d}",
                customer=Customer(name=f"عميل {i}", email=f"c{i}@example.sa"), currency=sar,
                issue_date=TODAY, items=(LineItem(name="مرتجع", quantity=1, unit_price=amount,
                                                  total=amount),),
                subtotal=amount, shipping=Money.zero(sar), cash_on_delivery=Money.zero(sar),
                tax_rate=Decimal(0), tax=Money.zero(sar), total=amount))
            continue
        qty = Decimal("1.5") if i % 25 == 0 else Decimal(1 + i % 3)
        price = Money(f"{17 + i % 83}.{(i * 37) % 100:02d}", sar)
        subtotal = (price * qty).quantize()
        shipping = Money("23", sar) if i % 2 else Money.zero(sar)
        tax = ((subtotal + shipping) * Decimal("0.15")).quantize()
        email = None if i % 10 == 0 else f"c{i % 40}@example.sa"
        order = str(9_000_000 + i)
        last_order = order
        drafts.append(InvoiceDraft(
            order_id=order, number=f"F-{i:05d}",
            customer=Customer(name=f"عميل رقم {i % 40}", email=email), currency=sar,
            issue_date=TODAY - dt.timedelta(days=i % 60),
            items=(LineItem(name=f"شاحن آنكر {i}", quantity=qty, unit_price=price,
                            total=subtotal, sku=f"PRO-{i:03d}", tax_rate=Decimal(15)),),
            subtotal=subtotal, shipping=shipping, cash_on_delivery=Money.zero(sar),
            tax_rate=Decimal(15), tax=tax, total=subtotal + shipping + tax))
    return drafts


def fill_salla_store(sandbox: Any, orders: int) -> dict[str, str]:
    """Issue *orders* tax invoices in a Salla sandbox (Arabic names, SAR, 15% VAT, shipping
    on odd orders), a credit note on every 20th order, a buyer without email on every
    15th, a fractional quantity on every 50th. Returns the expected plan verdict per
    source invoice id for a DayZero target under `policy()`."""
    import invoicekit

    expected: dict[str, str] = {}
    made: list[str] = []
    for n in range(1, orders + 1):
        qty: int | str = "1.5" if n % 50 == 0 else 1 + n % 3
        items = [{"name": f"شاحن آنكر {n}", "sku": f"PRO-{n:03d}", "product_id": str(n),
                  "quantity": qty, "price": Decimal(f"{20 + n % 90}.{(n * 37) % 100:02d}")},
                 {"name": "كابل", "sku": "CBL-1", "product_id": "2", "quantity": 2,
                  "price": Decimal("9.95")}]
        made.append(sandbox.add_order(
            email=None if n % 15 == 0 else f"buyer{n % 60}@example.sa",
            customer=f"عميل رقم {n % 60}", items=items,
            shipping=Decimal("23") if n % 2 else Decimal("0")))
    with invoicekit.connect("salla", **sandbox.settings()) as salla:
        for n, order in enumerate(made, start=1):
            inv = salla.create_invoice(InvoiceDraft(order_id=order, from_order=True))
            # what cannot be carried at all outranks a missing mapping
            expected[inv.id] = ("cannot_carry" if n % 50 == 0 else
                                "needs_mapping" if n % 15 == 0 else "ready")
            if n % 20 == 0:
                note = salla.create_invoice(InvoiceDraft(
                    kind=InvoiceKind.CREDIT_NOTE, order_id=order, from_order=True))
                expected[note.id] = "cannot_carry"
    return expected


class VirtualClock:
    """`time.time` and `time.sleep` for a test: the clock starts at a fixed instant and only a
    sleep moves it, so a settle time passes without waiting and regardless of the real clock."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.slept: list[float] = []

    def time(self) -> float:
        """The virtual now, in Unix seconds."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Move the clock on by *seconds* at once (and remember the wait)."""
        self.slept.append(seconds)
        self.now += seconds
