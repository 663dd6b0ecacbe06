#!/usr/bin/env python3
"""invoicekit end to end, with no accounts and no network: `python3 dev.py demo`.

The demo starts the Salla and DayZero sandboxes (emulators of each platform's API, real HTTP
servers on 127.0.0.1) and walks through what an application does:

1. Salla: a tax invoice from data (Arabic item names, SAR); read it back, decode its ZATCA
   QR code, email it to the customer.
2. DayZero: a customer and an invoice; finalize it, email it with a cc to the sender and
   the PDF attached.
3. One application, either platform: the same function runs against Salla or DayZero,
   chosen only by a TOML config file.
4. Migration from Salla to DayZero with a stated currency policy: the plan first (nothing
   written), then the copy, verified invoice by invoice.

Every step checks its outcome; the demo exits with status 1 at the first step that fails,
so CI runs it as a smoke test. Read it top to bottom: it is also an example of the API.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import invoicekit
from invoicekit import (
    Capability,
    Customer,
    Invoice,
    InvoiceDraft,
    InvoiceKind,
    LineItem,
    Money,
    SendEvent,
    SendOptions,
)
from invoicekit.migration import CurrencyPolicy, CustomerPolicy, MigrationPolicy
from invoicekit_dayzero.sandbox import DayZeroSandbox
from invoicekit_salla.sandbox import SallaSandbox
from invoicekit_salla.zatca import decode_qr

SAR_TO_USD = Decimal("0.2666")
"""The currency policy of the migration: 1 SAR = 0.2666 USD (a rate the user states)."""

ORDER_CUSTOMERS: dict[str, Customer] = {}
"""The shop's own record of who placed each order. Salla's invoices name no customer, and
DayZero needs one for every invoice: migration asks this record (a customer resolver)."""


class StepFailed(Exception):
    """A step's outcome was not what it should be."""


def check(condition: bool, what: str) -> None:
    """Fail the step unless *condition* holds; *what* says what was expected."""
    if not condition:
        raise StepFailed(what)


def show(label: str, value: object) -> None:
    """One indented `label: value` line."""
    print(f"    {label + ':':<22} {value}")


def money(amount: str, currency: str = "SAR") -> Money:
    """Money from a decimal string: never a float."""
    return Money(amount, currency)


# ---- step 1: Salla -----------------------------------------------------------------------------
def salla_story(salla: SallaSandbox) -> Invoice:
    """A tax invoice from data, read back, its ZATCA QR decoded, then sent."""
    # The store's order (in the sandbox: the merchant's customer bought coffee and a dallah).
    order_id = salla.add_order(
        customer="نورة العتيبي", email="noura@example.sa",
        items=[
            {"name": "قهوة عربية فاخرة 500 غ", "sku": "COF-500", "product_id": "8101",
             "quantity": 2, "price": Decimal("45.00")},
            {"name": "دلة نحاسية", "sku": "DLH-01", "product_id": "8102",
             "quantity": 1, "price": Decimal("120.00")},
        ],
        shipping=Decimal("25.00"), tax_percent=Decimal("15"),
    )
    ORDER_CUSTOMERS[order_id] = Customer(name="نورة العتيبي", email="noura@example.sa")
    draft = InvoiceDraft(
        order_id=order_id,
        number="INV-2025-0001",
        currency="SAR",
        customer=Customer(name="نورة العتيبي", email="noura@example.sa"),
        items=(
            LineItem(name="قهوة عربية فاخرة 500 غ", quantity=Decimal(2),
                     unit_price=money("45.00"), total=money("90.00")),
            LineItem(name="دلة نحاسية", quantity=Decimal(1),
                     unit_price=money("120.00"), total=money("120.00")),
        ),
        subtotal=money("210.00"),
        shipping=money("25.00"),
        cash_on_delivery=money("0.00"),
        tax_rate=Decimal(15),
        tax=money("35.25"),  # 15% of subtotal + shipping
        total=money("270.25"),
    )
    with invoicekit.connect("salla", **salla.settings()) as gw:
        created = gw.create_invoice(draft)
        show("created", f"{created.kind.name} {created.number} (id {created.id}, "
             f"order {created.order_id})")
        check(created.total == money("270.25"), f"total 270.25 SAR, got {created.total}")

        invoice = gw.get_invoice(created.id)
        show("fetched", f"{invoice.status.name}, total {invoice.total}, tax {invoice.tax}")
        for item in invoice.items:
            show("  item", f"{item.name} x {item.quantity} @ {item.unit_price}")
        check([i.name for i in invoice.items] == [i.name for i in draft.items],
              "the Arabic item names come back verbatim")

        qr = decode_qr(invoice.qr_code)
        check(qr is not None, "a tax invoice from data carries a ZATCA QR code")
        assert qr is not None
        show("ZATCA QR seller", qr.seller_name)
        show("ZATCA QR VAT number", qr.vat_number)
        show("ZATCA QR time", qr.timestamp.isoformat())
        show("ZATCA QR total / VAT", f"{qr.total} / {qr.vat_total}")
        check(qr.total == Decimal("270.25") and qr.vat_total == Decimal("35.25"),
              "the QR code's totals match the invoice")

        receipt = gw.send_invoice(invoice)
        show("sent", f"{receipt.sent}; Salla says: {receipt.message}")
        check(receipt.sent, "Salla accepted the invoice for delivery")
        check(len(salla.sent) == 1, "the sandbox recorded one email")
        return invoice


# ---- step 2: DayZero ---------------------------------------------------------------------------
def dayzero_story(dayzero: DayZeroSandbox) -> Invoice:
    """A customer and an invoice; finalized; sent with a cc to the sender and the PDF."""
    with invoicekit.connect("dayzero", **dayzero.settings()) as gw:
        customer = gw.create_customer(
            Customer(name="Blue Fjord Studio", email="accounts@bluefjord.example"))
        show("customer", f"{customer.name} <{customer.email}> (id {customer.id})")

        today = dt.datetime.now(dt.UTC).date()
        draft = InvoiceDraft(
            customer=customer,
            currency="USD",
            issue_date=today,
            due_date=today + dt.timedelta(days=30),
            description="Website refresh, phase 1",
            items=(
                LineItem(name="Design sprint", quantity=Decimal(1),
                         unit_price=money("2400.00", "USD")),
                LineItem(name="Hosting (monthly)", quantity=Decimal(3),
                         unit_price=money("49.00", "USD")),
            ),
        )
        invoice = gw.create_invoice(draft)
        show("created", f"{invoice.status.name} (no number yet), total {invoice.total}")
        check(invoice.total == money("2547.00", "USD"), f"total 2547.00 USD, got {invoice.total}")

        invoice = gw.finalize_invoice(invoice)
        show("finalized", f"{invoice.status.name}, number {invoice.number}")
        check(invoice.number is not None, "finalizing assigns a number")

        receipt = gw.send_invoice(invoice, SendOptions(cc_sender=True, attach_pdf=True))
        show("sent to", receipt.recipient)
        show("cc", receipt.cc)
        show("PDF attached", receipt.pdf_attached)
        show("message id", receipt.message_id)
        check(receipt.sent and receipt.cc is not None and receipt.pdf_attached is True,
              "DayZero sent it with the cc and the PDF")
        show("PDF", gw.get_pdf_url(invoice))
        return invoice


# ---- step 3: the provider is configuration -----------------------------------------------------
def billing_summary(gw: invoicekit.Gateway) -> int:
    """Application code: it never names a provider, so it runs unchanged on any of them."""
    invoices = list(gw.list_invoices())
    total_by_currency: dict[str, Money] = {}
    for inv in invoices:
        if inv.total is not None:
            so_far = total_by_currency.get(inv.total.currency)
            total_by_currency[inv.total.currency] = (
                inv.total if so_far is None else so_far + inv.total)
    totals = ", ".join(str(m) for m in total_by_currency.values()) or "nothing"
    show(f"{gw.provider} invoices", f"{len(invoices)}, totalling {totals}")
    show("can void", gw.supports(Capability.VOID_INVOICE))
    return len(invoices)


def switch_by_config(salla: SallaSandbox, dayzero: DayZeroSandbox, workdir: Path) -> None:
    """Write a config file for Salla, run the app; rewrite it for DayZero, run it again."""
    config = workdir / "invoicekit.toml"
    # Secrets stay out of the file: `${VAR}` is read from the environment.
    os.environ["DEMO_SALLA_TOKEN"] = salla.settings()["token"]
    os.environ["DEMO_DAYZERO_TOKEN"] = dayzero.settings()["token"]

    config.write_text(
        "[invoicekit]\n"
        'provider = "salla"\n'
        'token = "${DEMO_SALLA_TOKEN}"\n'
        f'base_url = "{salla.url}"\n', encoding="utf-8")
    print(f"    {config.name} says provider = \"salla\"")
    with invoicekit.from_config(config) as gw:
        check(gw.provider == "salla", "the config chose Salla")
        check(billing_summary(gw) >= 1, "Salla lists the invoice of step 1")

    config.write_text(
        "[invoicekit]\n"
        'provider = "dayzero"\n'
        'token = "${DEMO_DAYZERO_TOKEN}"\n'
        f'business_id = "{dayzero.settings()["business_id"]}"\n'
        f'base_url = "{dayzero.url}"\n', encoding="utf-8")
    print(f"    {config.name} now says provider = \"dayzero\"")
    with invoicekit.from_config(config) as gw:
        check(gw.provider == "dayzero", "the config chose DayZero")
        check(billing_summary(gw) >= 1, "DayZero lists the invoice of step 2")


# ---- step 4: migration -------------------------------------------------------------------------
def migration_story(salla: SallaSandbox, dayzero: DayZeroSandbox, workdir: Path) -> None:
    """Plan, then copy Salla's invoices to DayZero, converting SAR to USD at a stated rate."""
    with invoicekit.connect("salla", **salla.settings()) as gw:
        # A second customer's order, and a credit note (which DayZero cannot hold).
        order_id = salla.add_order(
            customer="فهد القحطاني", email="fahad@example.sa",
            items=[{"name": "تمر سكري 1 كغ", "sku": "DAT-1", "product_id": "8103",
                    "quantity": 3, "price": Decimal("38.00")}],
            shipping=Decimal("0"), tax_percent=Decimal("15"))
        ORDER_CUSTOMERS[order_id] = Customer(name="فهد القحطاني", email="fahad@example.sa")
        gw.create_invoice(InvoiceDraft(order_id=order_id, from_order=True))
        gw.create_invoice(InvoiceDraft(kind=InvoiceKind.CREDIT_NOTE, order_id=order_id,
                                       from_order=True))

    policy = MigrationPolicy(
        currency=CurrencyPolicy({("SAR", "USD"): SAR_TO_USD}),
        customers=CustomerPolicy(
            create_by_email=True,
            resolver=lambda invoice: ORDER_CUSTOMERS.get(invoice.order_id or ""),
        ),
        due_days=30,
        extras_as_lines=True,
    )
    print(f"    policy: 1 SAR = {SAR_TO_USD} USD (rounded half up to cents); each order's "
          "customer created by email;\n            due 30 days after issue; shipping and tax "
          "carried as line items")
    journal = workdir / "salla-to-dayzero.db"
    with invoicekit.connect("salla", **salla.settings()) as source, \
            invoicekit.connect("dayzero", **dayzero.settings()) as target:
        plan = invoicekit.migrate(source, target, journal=journal, policy=policy,
                                  plan_only=True)
        print(_indent(plan.render()))
        check(plan.categories.get("ready", 0) >= 2, "the plan finds the tax invoices ready")
        check(plan.categories.get("cannot_carry", 0) >= 1,
              "the plan says the credit note cannot be carried, and why")
        before = {inv.id for inv in target.list_invoices()}

        report = invoicekit.migrate(source, target, journal=journal, policy=policy,
                                    resume=True, verify=True)
        print(_indent(report.render()))
        check(report.ok, "the migration finished without failures or mismatches")
        check(report.written == plan.categories.get("ready", 0),
              "every ready invoice was written once")
        copies = [inv for inv in target.list_invoices() if inv.id not in before]
        check(len(copies) == report.written, "DayZero holds exactly the copies written")
        for copy in copies:
            who = copy.customer.email if copy.customer is not None else "?"
            lines = "; ".join(f"{i.name} x {i.quantity} @ {i.unit_price}" for i in copy.items)
            show("copy on DayZero", f"{copy.total} for {who}, {copy.status.name}: {lines}")

        again = invoicekit.migrate(source, target, journal=journal, policy=policy, resume=True)
        show("re-run writes", again.written)
        check(again.written == 0, "running the migration again writes nothing")


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


# ---- running the steps -------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Run every step; 0 when all passed, 1 at the first failure."""
    argparse.ArgumentParser(
        prog="python3 dev.py demo", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8", errors="replace")

    def on_send(event: SendEvent) -> None:
        # One subscription hears every provider (Salla's onSent / onNotSent, for all).
        print(f"    event {event.name}: {event.provider} invoice {event.invoice_id}")

    unsubscribe = [invoicekit.events.on_sent(on_send), invoicekit.events.on_not_sent(on_send)]
    with tempfile.TemporaryDirectory(prefix="invoicekit-demo-") as tmp, \
            SallaSandbox() as salla, DayZeroSandbox() as dayzero:
        workdir = Path(tmp)
        print("invoicekit demo: no accounts, no network")
        print(f"  Salla sandbox:   {salla.url}")
        print(f"  DayZero sandbox: {dayzero.url}")
        steps: list[tuple[str, Callable[[], object]]] = [
            ("Salla: a tax invoice from data, fetched, its ZATCA QR decoded, sent",
             lambda: salla_story(salla)),
            ("DayZero: a customer and an invoice, finalized, sent with cc and PDF",
             lambda: dayzero_story(dayzero)),
            ("Switching providers by changing only a config file",
             lambda: switch_by_config(salla, dayzero, workdir)),
            ("Migrating Salla -> DayZero: plan, copy, verify",
             lambda: migration_story(salla, dayzero, workdir)),
        ]
        try:
            for n, (title, run) in enumerate(steps, start=1):
                print(f"\n[{n}/{len(steps)}] {title}")
                try:
                    run()
                except Exception as exc:
                    print(f"\nFAILED in step {n} ({title}): {type(exc).__name__}: {exc}")
                    traceback.print_exc(file=sys.stderr)
                    return 1
                print("    ok")
        finally:
            for off in unsubscribe:
                off()
    print("\nAll steps passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
