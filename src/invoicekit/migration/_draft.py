"""From a source `Invoice` to a target `InvoiceDraft`, and back for verification.

Everything here is pure: conversion under the stated policy, the content fingerprint
that detects a source invoice changed since it was copied, the marker written on every
copied invoice, the journal's JSON form of a draft, and the field-by-field comparison
that verification reports.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import msgspec

from .._model import Customer, Invoice, InvoiceDraft, InvoiceKind, LineItem
from .._money import Money
from ._policy import MigrationPolicy

__all__ = [
    "Conversion",
    "Mismatch",
    "build_draft",
    "compare",
    "draft_from_json",
    "draft_to_json",
    "fingerprint",
    "marked_ids",
    "marker",
    "without_number",
]

_MARKER = "[invoicekit-migrate src={provider}:{id}]"
_MARKER_RE = re.compile(r"\[invoicekit-migrate src=([^:\]\s]+):([^\]\s]+)\]")


def marker(provider: str, invoice_id: str) -> str:
    """The tag written into a copied invoice's description: `[invoicekit-migrate src=salla:1]`.

    Reconciliation finds a copy whose outcome is unknown by this tag, so it must stay
    unique per source invoice and survive the target's storage (plain ASCII).
    """
    return _MARKER.format(provider=provider, id=invoice_id)


def marked_ids(provider: str, text: str | None) -> list[str]:
    """The source invoice ids of *provider* whose `marker` appears in *text*.

    Verification reads every description on the target with this to find a source
    invoice copied more than once.
    """
    if not text or "[invoicekit-migrate " not in text:
        return []
    return [m.group(2) for m in _MARKER_RE.finditer(text) if m.group(1) == provider]


# ---- JSON forms ---------------------------------------------------------------------------
def _money(m: Money | None) -> list[str] | None:
    return None if m is None else [str(m.amount), m.currency]


def _unmoney(v: Any) -> Money | None:
    return None if v is None else Money(Decimal(v[0]), v[1])


def _dec(d: Decimal | None) -> str | None:
    return None if d is None else str(d)


def _date(d: dt.date | None) -> str | None:
    return None if d is None else d.isoformat()


def _customer(c: Customer | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"id": c.id, "name": c.name, "email": c.email, "tax_id": c.tax_id, "phone": c.phone}


def _item(i: LineItem) -> dict[str, Any]:
    return {
        "name": i.name, "quantity": str(i.quantity), "unit_price": _money(i.unit_price),
        "discount": _money(i.discount), "tax_rate": _dec(i.tax_rate), "tax": _money(i.tax),
        "total": _money(i.total), "sku": i.sku, "product_id": i.product_id, "kind": i.kind,
    }


_AMOUNTS = ("subtotal", "shipping", "cash_on_delivery", "discount", "tax", "total")

_ENCODER = msgspec.json.Encoder(order="sorted")
"""Compact JSON with sorted keys, UTF-8 unescaped: byte for byte what
`json.dumps(..., ensure_ascii=False, sort_keys=True, separators=(",", ":"))` writes for
these documents (strings, `None`, booleans, lists, objects with ASCII keys), in a fifth of
the time. Fingerprints depend on it: a journal keeps those of the invoices it copied."""
_DECODER = msgspec.json.Decoder()


def draft_to_json(draft: InvoiceDraft) -> str:
    """The draft as compact JSON (amounts as strings), for the journal and the plan file."""
    data: dict[str, Any] = {
        "kind": draft.kind.value, "order_id": draft.order_id,
        "customer": _customer(draft.customer), "number": draft.number,
        "issue_date": _date(draft.issue_date), "due_date": _date(draft.due_date),
        "currency": draft.currency, "items": [_item(i) for i in draft.items],
        "tax_rate": _dec(draft.tax_rate), "description": draft.description,
        "document_url": draft.document_url, "from_order": draft.from_order,
    }
    for name in _AMOUNTS:
        data[name] = _money(getattr(draft, name))
    return _ENCODER.encode(data).decode("utf-8")


def draft_from_json(text: str) -> InvoiceDraft:
    """The inverse of `draft_to_json` (the journal's own data: trusted, exact)."""
    data = _DECODER.decode(text)
    cust = data["customer"]
    return InvoiceDraft(
        kind=InvoiceKind(data["kind"]), order_id=data["order_id"],
        customer=Customer(**cust) if cust is not None else None, number=data["number"],
        issue_date=dt.date.fromisoformat(data["issue_date"]) if data["issue_date"] else None,
        due_date=dt.date.fromisoformat(data["due_date"]) if data["due_date"] else None,
        currency=data["currency"],
        items=tuple(
            # Positional, in the model's field order (name, quantity, unit_price, discount,
            # tax_rate, tax, total, sku, product_id, kind): a copy reads every line back.
            LineItem(i["name"], Decimal(i["quantity"]), _unmoney(i["unit_price"]),
                     _unmoney(i["discount"]),
                     Decimal(i["tax_rate"]) if i["tax_rate"] is not None else None,
                     _unmoney(i["tax"]), _unmoney(i["total"]), i["sku"], i["product_id"],
                     i["kind"])
            for i in data["items"]
        ),
        tax_rate=Decimal(data["tax_rate"]) if data["tax_rate"] is not None else None,
        description=data["description"], document_url=data["document_url"],
        from_order=data["from_order"],
        subtotal=_unmoney(data["subtotal"]), shipping=_unmoney(data["shipping"]),
        cash_on_delivery=_unmoney(data["cash_on_delivery"]),
        discount=_unmoney(data["discount"]), tax=_unmoney(data["tax"]),
        total=_unmoney(data["total"]),
    )


def fingerprint(invoice: Invoice) -> str:
    """A hash of what a copy carries (not status or payments), to notice a changed source."""
    content = {
        "kind": invoice.kind.value, "number": invoice.number,
        "issue_date": _date(invoice.issue_date), "due_date": _date(invoice.due_date),
        "currency": invoice.currency, "order_id": invoice.order_id,
        "customer": _customer(invoice.customer), "items": [_item(i) for i in invoice.items],
        "tax_rate": _dec(invoice.tax_rate), "description": invoice.description,
        **{name: _money(getattr(invoice, name)) for name in _AMOUNTS},
    }
    return hashlib.sha256(_ENCODER.encode(content)).hexdigest()[:32]


# ---- conversion -----------------------------------------------------------------------------
@attrs.frozen(slots=True)
class Conversion:
    """What `build_draft` did: the draft and the notes written into its description."""

    draft: InvoiceDraft
    notes: tuple[str, ...] = ()


def _zero(m: Money | None) -> Decimal:
    return Decimal(0) if m is None else m.amount


def _line_formulas() -> tuple[Callable[[Decimal, Decimal, Decimal, Decimal], Decimal], ...]:
    return (
        lambda q, u, d, t: q * u,
        lambda q, u, d, t: q * u - d,
        lambda q, u, d, t: q * u + t,
        lambda q, u, d, t: q * u - d + t,
    )


_LINES = _line_formulas()
_TOTALS: tuple[Callable[[Decimal, Decimal, Decimal, Decimal, Decimal], Decimal], ...] = (
    lambda s, sh, c, t, d: s + sh + c + t - d,
    lambda s, sh, c, t, d: s + sh + c - d,
)


_EXACT = decimal.Context(prec=60, traps=[decimal.InvalidOperation, decimal.DivisionByZero,
                                         decimal.Overflow, decimal.Inexact])
"""Where a conversion's products and sums are computed: exact, or `decimal.Inexact` (never
rounded silently at the default 28 digits); the one rounding is the policy's, to the
currency's minor unit, in `_Converter.exact`."""


class _Converter:
    def __init__(self, to: str, rate: Decimal, rounding: str) -> None:
        self.to, self.rate, self.rounding = to, rate, rounding

    def exact(self, amount: Decimal) -> Money:
        # `quantize` rounds in its own context (not the caller's `_EXACT`, which traps
        # the rounding that is the point here); `Money` does no arithmetic.
        return Money(amount, self.to).quantize(self.rounding)

    def money(self, m: Money | None) -> Money | None:
        return None if m is None else self.exact(m.amount * self.rate)

    def item(self, item: LineItem) -> LineItem:
        price = self.money(item.unit_price)
        discount, tax = self.money(item.discount), self.money(item.tax)
        assert price is not None
        total = self.money(item.total)
        if item.total is not None:
            parts = (item.quantity, item.unit_price.amount, _zero(item.discount), _zero(item.tax))
            new = (item.quantity, price.amount, _zero(discount), _zero(tax))
            for formula in _LINES:
                if formula(*parts) == item.total.amount:
                    total = self.exact(formula(*new))
                    break
        # Positional, in the model's field order (name, quantity, unit_price, discount,
        # tax_rate, tax, total, sku, product_id, kind): `attrs.evolve` matches keywords,
        # several times the cost, and a migration converts every line of every invoice.
        return LineItem(item.name, item.quantity, price, discount, item.tax_rate, tax, total,
                        item.sku, item.product_id, item.kind)


def _convert(invoice: Invoice, items: tuple[LineItem, ...], conv: _Converter
             ) -> dict[str, Any]:
    """The converted amounts; raises a `decimal` error (an `ArithmeticError`) for amounts
    that cannot be converted exactly (the engine makes that invoice "cannot carry")."""
    with decimal.localcontext(_EXACT):
        return _convert_exactly(invoice, items, conv)


def _convert_exactly(invoice: Invoice, items: tuple[LineItem, ...], conv: _Converter
                     ) -> dict[str, Any]:
    new_items = tuple(conv.item(i) for i in items)
    out: dict[str, Money | None] = {name: conv.money(getattr(invoice, name)) for name in _AMOUNTS}
    if invoice.subtotal is not None and items:
        # The subtotal is usually a sum over the lines (of their totals, or of quantity x
        # price): keep it that sum of the converted lines.
        sums: list[tuple[Decimal, Decimal]] = []
        if all(i.total is not None for i in items):
            sums.append((sum((_zero(i.total) for i in items), Decimal(0)),
                         sum((_zero(i.total) for i in new_items), Decimal(0))))
        for formula in _LINES:
            sums.append((
                sum((formula(i.quantity, i.unit_price.amount, _zero(i.discount), _zero(i.tax))
                     for i in items), Decimal(0)),
                sum((formula(i.quantity, i.unit_price.amount, _zero(i.discount), _zero(i.tax))
                     for i in new_items), Decimal(0))))
        for source_sum, converted_sum in sums:
            if source_sum == invoice.subtotal.amount:
                out["subtotal"] = conv.exact(converted_sum)
                break
    # The total is usually the subtotal (or, without one, the sum of the line totals) plus
    # the extras: keep it that sum of the converted parts, so a converted invoice still adds
    # up instead of differing by a rounding of each part.
    src_base: Decimal | None = None
    new_base: Decimal | None = None
    if invoice.subtotal is not None:
        src_base, new_base = invoice.subtotal.amount, _zero(out["subtotal"])
    elif items and all(i.total is not None for i in items):
        src_base = sum((_zero(i.total) for i in items), Decimal(0))
        new_base = sum((_zero(i.total) for i in new_items), Decimal(0))
    if invoice.total is not None and src_base is not None and new_base is not None:
        extras = ("shipping", "cash_on_delivery", "tax", "discount")
        src = (src_base, *(_zero(getattr(invoice, n)) for n in extras))
        new = (new_base, *(_zero(out[n]) for n in extras))
        for adds_up in _TOTALS:
            if adds_up(*src) == invoice.total.amount:
                out["total"] = conv.exact(adds_up(*new))
                break
    return {"items": new_items, "currency": conv.to, **out}


def _line(name: str, amount: Money, kind: str) -> LineItem:
    return LineItem(name, Decimal(1), amount, None, None, None, amount, None, None, kind)


def _extras_as_lines(fields: dict[str, Any]) -> None:
    """Make the invoice lines-only: extras become lines, so the lines add up to the total.

    Each line keeps name, quantity and unit price (its total becomes quantity x price); a
    line discount becomes its own negative line; line taxes are dropped when the invoice
    carries its tax as a whole (that becomes one line), else each becomes a line.
    """
    lines: list[LineItem] = []
    extra: list[LineItem] = []
    invoice_tax: Money | None = fields.get("tax")
    for item in fields["items"]:
        lines.append(LineItem(item.name, item.quantity, item.unit_price, None, None, None,
                              item.unit_price * item.quantity, item.sku, item.product_id,
                              item.kind))  # positional: see `_Converter.item`
        if item.discount is not None and item.discount.amount != 0:
            extra.append(_line(f"Discount: {item.name}", -item.discount, "discount"))
        if invoice_tax is None and item.tax is not None and item.tax.amount != 0:
            extra.append(_line(f"Tax: {item.name}", item.tax, "tax"))
    labels = (("shipping", "Shipping", 1), ("cash_on_delivery", "Cash on delivery", 1),
              ("tax", "Tax", 1), ("discount", "Discount", -1))
    for name, label, sign in labels:
        m: Money | None = fields.get(name)
        if m is not None and m.amount != 0:
            if name == "tax" and fields.get("tax_rate") is not None:
                label = f"Tax ({fields['tax_rate']}%)"
            extra.append(_line(label, m if sign > 0 else -m, name))
        fields[name] = None
    fields["items"] = (*lines, *extra)
    fields["subtotal"] = None
    fields["tax_rate"] = None


def _complete_lines_only(fields: dict[str, Any]) -> None:
    """State the zeros a lines-only invoice implies, for targets that want every amount.

    Only when the source's own arithmetic proves them: no shipping, cash on delivery,
    discount or tax at all, a total equal to the sum of the line totals, and no subtotal or
    one equal to that sum (DayZero states it). Then the subtotal is that sum and the rest
    are zero, exactly.
    """
    items: tuple[LineItem, ...] = fields["items"]
    total: Money | None = fields.get("total")
    extras = ("shipping", "cash_on_delivery", "discount", "tax")
    if total is None or not items or any(fields.get(n) is not None for n in extras):
        return
    if fields.get("tax_rate") is not None or any(i.total is None for i in items):
        return
    lines = sum((_zero(i.total) for i in items), Decimal(0))
    subtotal: Money | None = fields.get("subtotal")
    if lines != total.amount or (subtotal is not None and subtotal.amount != lines):
        return
    zero = Money(Decimal(0), total.currency)
    fields.update(subtotal=Money(lines, total.currency), shipping=zero, cash_on_delivery=zero,
                  discount=zero, tax=zero, tax_rate=Decimal(0))


def without_number(draft: InvoiceDraft) -> InvoiceDraft:
    """*draft* without its number, the number written above the marker in the description."""
    text = draft.description or ""
    head, sep, tail = text.rpartition("\n")
    line = f"Source invoice number: {draft.number}"
    description = f"{head}{sep}{line}\n{tail}" if sep else f"{line}\n{tail}"
    return attrs.evolve(draft, number=None, description=description)


def build_draft(
    invoice: Invoice,
    policy: MigrationPolicy,
    *,
    source_provider: str,
    customer: Customer | None,
    order_id: str | None,
    document_url: str | None = None,
) -> Conversion:
    """The target draft for *invoice* under *policy*, with the marker in its description.

    `customer` is the target's customer (its `id` set when known) and `order_id` the
    target's order, when mapped. With
    `document_url` the draft is the PDF form: the document, its number, kind and dates.
    """
    notes: list[str] = []
    fields: dict[str, Any] = {
        "items": tuple(LineItem(i.name, i.quantity, i.unit_price, i.discount, i.tax_rate, i.tax,
                                i.total, i.sku, None, i.kind)  # without the source's product
                       for i in invoice.items),
        "currency": invoice.currency,
        **{name: getattr(invoice, name) for name in _AMOUNTS},
    }
    currency = invoice.currency or next(
        (m.currency for m in (invoice.total, invoice.subtotal) if m is not None), None)
    target = policy.currency.rate_for(currency) if currency is not None else None
    if target is not None and currency is not None:
        to, rate = target
        fields.update(_convert(invoice, fields["items"], _Converter(to, rate,
                                                                    policy.currency.rounding)))
        original = f"{invoice.total.amount} {currency}" if invoice.total is not None else "-"
        notes.append(f"Converted from {currency} at {rate} {to} per {currency} "
                     f"(rounded {policy.currency.rounding}); original total {original}.")
    fields["tax_rate"] = invoice.tax_rate
    _complete_lines_only(fields)
    if policy.extras_as_lines:
        _extras_as_lines(fields)
    due = invoice.due_date
    if due is None and policy.due_days is not None and invoice.issue_date is not None:
        due = invoice.issue_date + dt.timedelta(days=policy.due_days)
        notes.append(f"Due date set to the issue date plus {policy.due_days} days.")
    description = "\n".join(
        [*([invoice.description] if invoice.description else []), *notes,
         marker(source_provider, invoice.id)])
    common: dict[str, Any] = {
        "kind": invoice.kind, "order_id": order_id, "customer": customer,
        "number": invoice.number, "issue_date": invoice.issue_date, "due_date": due,
        "description": description,
    }
    if document_url is not None:
        draft = InvoiceDraft(**common, document_url=document_url)
    else:
        draft = InvoiceDraft(**common, **fields)
    return Conversion(draft, tuple(notes))


# ---- verification ---------------------------------------------------------------------------
@attrs.frozen(slots=True)
class Mismatch:
    """One difference between what was written (the converted source) and what the target holds."""

    source_id: str
    target_id: str
    field: str
    expected: str
    actual: str

    def __str__(self) -> str:
        return (f"{self.source_id} -> {self.target_id}: {self.field}: "
                f"expected {self.expected}, target has {self.actual}")


def _show(value: object) -> str:
    return "-" if value is None else str(value)


def _cmp(out: list[tuple[str, object, object]], name: str, expected: object, actual: object,
         *, required: bool = False) -> None:
    if expected is None:
        return
    if actual is None:
        if required or not (isinstance(expected, Money) and expected.amount == 0):
            out.append((name, expected, actual))
        return
    if isinstance(expected, Money) and isinstance(actual, Money):
        if expected.currency != actual.currency or expected.amount != actual.amount:
            out.append((name, expected, actual))
    elif expected != actual:
        out.append((name, expected, actual))


def compare(source_id: str, draft: InvoiceDraft, invoice: Invoice) -> list[Mismatch]:
    """Every field where the target *invoice* differs from the *draft* that created it.

    Totals, each amount the draft carried, line items (name, quantity, unit price, total),
    tax, dates, currency and kind are compared exactly; a field the draft left empty is not.
    A document (PDF) draft is compared on kind, number and dates only.
    """
    found: list[tuple[str, object, object]] = []
    _cmp(found, "kind", draft.kind, invoice.kind, required=True)
    _cmp(found, "issue_date", draft.issue_date, invoice.issue_date)
    _cmp(found, "due_date", draft.due_date, invoice.due_date)
    if draft.document_url is None:
        _cmp(found, "currency", draft.effective_currency, invoice.currency, required=True)
        _cmp(found, "total", draft.total, invoice.total, required=True)
        for name in ("subtotal", "shipping", "cash_on_delivery", "discount", "tax"):
            _cmp(found, name, getattr(draft, name), getattr(invoice, name))
        if draft.tax is not None and draft.tax.amount != 0:
            _cmp(found, "tax_rate", draft.tax_rate, invoice.tax_rate)
        if len(draft.items) != len(invoice.items):
            found.append(("items", f"{len(draft.items)} lines", f"{len(invoice.items)} lines"))
        else:
            for n, (want, have) in enumerate(zip(draft.items, invoice.items, strict=True)):
                _cmp(found, f"items[{n}].name", want.name, have.name, required=True)
                _cmp(found, f"items[{n}].quantity", want.quantity, have.quantity,
                     required=True)
                _cmp(found, f"items[{n}].unit_price", want.unit_price, have.unit_price,
                     required=True)
                _cmp(found, f"items[{n}].total", want.total, have.total)
    return [Mismatch(source_id, invoice.id, name, _show(e), _show(a)) for name, e, a in found]
