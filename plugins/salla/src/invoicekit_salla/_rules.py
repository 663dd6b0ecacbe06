"""Salla's rules, written once: its id form, its document-URL rule, the fields of a
data invoice, its currency, and the draft check built from them.

The provider (`SallaProvider.check_draft`), the writer (`_wire.draft_to_wire`) and the
sandbox (`sandbox.SallaSandbox`) all use these objects, so the plugin, its emulator and
the fake's `salla` profile (which runs that emulator) cannot disagree about a rule.
The DayZero plugin keeps its rules in a module of the same name and shape.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from invoicekit import InvoiceDraft, InvoiceKind, Money
from invoicekit.provider import DraftProblems, IdPattern

__all__ = [
    "CURRENCY",
    "DATA_FIELDS",
    "PDF_URL",
    "PROVIDER",
    "SALLA_ID",
    "DataField",
    "check_draft",
    "data_type_of",
    "is_pdf_url",
    "type_of",
]

PROVIDER = "salla"

SALLA_ID = IdPattern("Salla id (digits)", r"[0-9]{1,19}")
"""Salla's invoice and order ids: decimal digits, checked before they enter a URL (and by
the sandbox before it looks an order up)."""

CURRENCY = "SAR"
"""Salla's invoices are Saudi tax documents in riyals: its create request has no currency
field, so a draft in anything else would be misread, and an amount read without a
currency is in riyals."""

PDF_URL = re.compile(r"https?://\S+\.pdf")
"""A document URL Salla accepts, matched with `fullmatch`: http(s), no whitespace, ending
in `.pdf`. Case-sensitive, as Laravel's `ends_with:.pdf` is (`.PDF` is refused), and a
query string after `.pdf` is refused too."""


def is_pdf_url(value: object) -> bool:
    """Whether *value* is a URL Salla accepts for a `url` invoice (see `PDF_URL`)."""
    return isinstance(value, str) and PDF_URL.fullmatch(value) is not None


@attrs.frozen(slots=True)
class DataField:
    """One field of a `data` invoice: its create-request name, its draft field, and
    whether a draft may leave it out (it is then sent as zero: nothing charged)."""

    wire: str
    draft: str
    amount: bool = True
    zero_if_missing: bool = False


DATA_FIELDS: tuple[DataField, ...] = (
    DataField("invoice_number", "number", amount=False),
    DataField("sub_total", "subtotal"),
    DataField("total", "total"),
    DataField("shipping_cost", "shipping", zero_if_missing=True),
    DataField("cash_on_delivery_cost", "cash_on_delivery", zero_if_missing=True),
    DataField("tax", "tax_rate"),  # a percentage, not money
    DataField("tax_value", "tax"),
)
"""Every field Salla requires for `data_type: data` (all seven are required on the wire;
`amount` fields must be non-negative numbers)."""

_MONEY_FIELDS = ("subtotal", "total", "shipping", "tax", "cash_on_delivery")


def data_type_of(draft: InvoiceDraft) -> str:
    """Which Salla `data_type` a draft becomes: `url`, `file`, `order` or `data`."""
    if draft.document_url is not None:
        return "url"
    if draft.document_pdf is not None:
        return "file"
    if draft.from_order:
        return "order"
    return "data"


def type_of(draft: InvoiceDraft) -> str:
    """Salla's `type` for a draft: `credit_note` or `tax_invoice`."""
    return "credit_note" if draft.kind is InvoiceKind.CREDIT_NOTE else "tax_invoice"


def check_draft(draft: InvoiceDraft) -> InvoiceDraft:
    """Refuse locally what Salla would refuse, naming every field at once; fill defaults.

    * `order_id` is required and is digits (Salla invoices belong to an order).
    * Amounts are in SAR (`CURRENCY`).
    * `document_url` must match `PDF_URL`.
    * A data draft needs every field of `DATA_FIELDS` except those that may be left
      out (`shipping`, `cash_on_delivery`): these are filled with zero on the returned
      draft, which is what is sent.
    * Amounts must not be negative.

    Raises `InvalidRequest` (through `DraftProblems`) with `.fields` naming each problem.
    """
    problems = DraftProblems(PROVIDER)
    if draft.order_id is None:
        problems.add("order_id", "Salla issues invoices against an order: order_id is required")
    elif not SALLA_ID.matches(draft.order_id):
        problems.add("order_id", f"{draft.order_id!r} is not a Salla order id (digits)")
    currency = draft.effective_currency
    if currency not in (None, CURRENCY):
        problems.add("currency", f"Salla invoices are in {CURRENCY}, not {currency}")
    for name in _MONEY_FIELDS:
        money: Money | None = getattr(draft, name)
        if money is not None and money.amount < 0:
            problems.add(name, "must not be negative")
    data_type = data_type_of(draft)
    if data_type == "url":
        if not is_pdf_url(draft.document_url):
            problems.add("document_url",
                         "must be an http(s) URL ending in .pdf (Salla accepts PDF links only)")
    elif data_type == "data":
        for field in DATA_FIELDS:
            if not field.zero_if_missing and getattr(draft, field.draft) is None:
                problems.add(field.draft,
                             f"required for an invoice from data (Salla's {field.wire})")
    problems.raise_if_any()
    if data_type != "data":
        return draft
    missing: dict[str, Any] = {field.draft: Money(0, CURRENCY) for field in DATA_FIELDS
                               if field.zero_if_missing and getattr(draft, field.draft) is None}
    return attrs.evolve(draft, **missing) if missing else draft
